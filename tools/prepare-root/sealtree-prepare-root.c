/* SPDX-License-Identifier: MIT */
/*
 * sealtree-prepare-root: run in the initramfs once the physical root is
 * mounted (at /sysroot by systemd's initrd, at $rootmnt by initramfs-tools)
 * and before switch-root. See docs/man/sealtree-prepare-root.8.md.
 *
 * Exit status: 0 the root is assembled (or, composefs = maybe with no
 * sealtree word, left as it is); 1 refused or failed: nothing was mounted,
 * and the message names the broken link; 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealtree/boot.h"
#include "sealtree/error.h"
#include "sealtree/trust.h"
#include "tool-util.h"
#include "write-full.h"

static const char *arg_sysroot = "/sysroot";
static const char *arg_config = "/etc/sealtree/prepare-root.conf";
static const char *arg_cmdline_file = "/proc/cmdline";
static const char *arg_cmdline;
static const char *arg_run_dir = "/run/sealtree";

static void help(void)
{
	printf("Usage: %s [OPTIONS] [SYSROOT]\n"
	       "Mount the deployment named on the kernel command line as the root at SYSROOT\n"
	       "(default /sysroot), checked as the initramfs's policy says.\n\n"
	       "  --config FILE        policy (default /etc/sealtree/prepare-root.conf)\n"
	       "  --cmdline-file FILE  kernel command line (default /proc/cmdline)\n"
	       "  --cmdline TEXT       kernel command line given directly\n"
	       "  --run-dir DIR        where booted.json is written (default /run/sealtree)\n"
	       "  -h, --help           this help\n",
	       program_name);
}

static int parse_argv(int argc, char **argv)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"cmdline-file", required_argument, NULL, 'f'},
		{"cmdline", required_argument, NULL, 'k'},
		{"run-dir", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			arg_config = optarg;
			break;
		case 'f':
			arg_cmdline_file = optarg;
			break;
		case 'k':
			arg_cmdline = optarg;
			break;
		case 'r':
			arg_run_dir = optarg;
			break;
		case 'h':
			help();
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (optind + 1 < argc) {
		log_error("too many arguments (one SYSROOT at most)");
		return -EINVAL;
	}
	if (optind < argc)
		arg_sysroot = argv[optind];
	if (arg_sysroot[0] != '/' || arg_run_dir[0] != '/') {
		log_error("SYSROOT and --run-dir must be absolute paths");
		return -EINVAL;
	}
	return 1;
}

/* The kernel's log too: on a console-less boot, the journal keeps it. */
static void kmsg(const char *fmt, ...) _printf_(1, 2);
static void kmsg(const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return;
	(void)write_full(fd, line, strnlen(line, sizeof(line)));
	close(fd);
}

static int read_cmdline(char **ret)
{
	char buf[ST_BOOT_CMDLINE_MAX + 2];
	ssize_t n;
	int fd;

	if (arg_cmdline) {
		*ret = strdup(arg_cmdline);
		return *ret ? 0 : -ENOMEM;
	}
	fd = open(arg_cmdline_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(-errno, "cannot read the kernel command line '%s'", arg_cmdline_file);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return log_error_errno(-errno, "cannot read the kernel command line '%s'", arg_cmdline_file);
	buf[n] = '\0';
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

static int run(void)
{
	struct st_prepare_config *config = NULL;
	struct st_trust_store *store = NULL;
	struct st_boot_cmdline cmdline = {};
	struct st_prepare_result res;
	struct st_prepare_options opts = {};
	char *text = NULL;
	int r, w;

	/* Debug level: in the kernel's log (its timestamp starts prepare-root's
	 * own time, which ends at the "mounted" line), not on the console. */
	kmsg("<7>sealtree-prepare-root: starting\n");
	r = st_prepare_config_load(arg_config, &config);
	if (r < 0) {
		log_error_errno(r, "refusing to boot: cannot read the policy '%s'", arg_config);
		goto out;
	}
	r = read_cmdline(&text);
	if (r < 0)
		goto out;
	r = st_boot_cmdline_parse(text, &cmdline);
	if (r < 0) {
		log_error_errno(r, "refusing to boot: the kernel command line");
		goto out;
	}
	if (config->keys_dir) {
		r = st_trust_store_load(config->keys_dir, &store);
		if (r < 0) {
			log_error_errno(r, "refusing to boot: cannot load the keys '%s'", config->keys_dir);
			goto out;
		}
	}
	opts.sysroot = arg_sysroot;
	opts.run_dir = arg_run_dir;
	opts.config = config;
	opts.cmdline = &cmdline;
	opts.store = store;
	r = st_prepare_root(&opts, &res);
	if (r == -EINVAL && !res.failed_step[0]) {
		log_error("invalid options");
		goto out;
	}
	w = st_prepare_result_write(&res, arg_run_dir);
	if (w < 0)
		log_error_errno(w, "cannot record what was done in '%s'", arg_run_dir);
	if (r < 0) {
		log_error("refusing to boot %s/%s: %s link broken: %s", res.os[0] ? res.os : "?",
			  res.id[0] ? res.id : "?", res.failed_step, res.reason);
		kmsg("<2>sealtree-prepare-root: refusing to boot %s/%s: %s link broken: %s\n", res.os, res.id,
		     res.failed_step, res.reason);
		if (res.links[0])
			fprintf(stderr, "%s: the trust chain:\n%s\n", program_name, res.links);
		goto out;
	}
	if (res.fallback) {
		fprintf(stderr, "%s: %s\n", program_name, res.reason);
		kmsg("<5>sealtree-prepare-root: %s\n", res.reason);
	} else {
		fprintf(stderr, "%s: %s/%s mounted on %s (composefs = %s, verity %s%s%s)\n", program_name, res.os,
			res.id, arg_sysroot, st_composefs_mode_to_string(res.mode), res.verity ? "on" : "off",
			res.signed_ok ? ", signature valid" : "", res.notes[0] ? "; see booted.json notes" : "");
		kmsg("<5>sealtree-prepare-root: %s/%s mounted (composefs = %s, verity %s%s)\n", res.os, res.id,
		     st_composefs_mode_to_string(res.mode), res.verity ? "on" : "off",
		     res.signed_ok ? ", signed" : "");
	}
	r = 0;
out:
	free(text);
	st_boot_cmdline_release(&cmdline);
	st_trust_store_free(store);
	st_prepare_config_free(config);
	return r;
}

int main(int argc, char **argv)
{
	int r;

	program_name = "sealtree-prepare-root";
	r = parse_argv(argc, argv);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	return run() < 0 ? 1 : 0;
}
