/* SPDX-License-Identifier: MIT */
/*
 * Remotes: REPO/remotes/NAME/config (key=value lines: url, keys-dir,
 * sign-verify) and REPO/remotes/NAME/seen (the newest summary timestamp
 * accepted from it). docs/formats/remote.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/dirent-util.h"
#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/publish.h"
#include "fundamental/macro.h"
#include "fundamental/parse-number.h"
#include "remote-internal.h"

#define REMOTE_CONFIG_MAX (64 * 1024)

bool st_remote_name_valid(const char *name)
{
	size_t len;

	if (!name)
		return false;
	len = strlen(name);
	if (len == 0 || len > ST_REMOTE_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", name[i]))
			return false;
	return true;
}

bool st_remote_url_valid(const char *url)
{
	size_t len;

	if (!url)
		return false;
	len = strlen(url);
	if (len == 0 || len > ST_REMOTE_URL_MAX)
		return false;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0 && strncmp(url, "file:///", 8) != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

static bool path_value_valid(const char *s)
{
	if (!s || !*s || strlen(s) > 4096)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

struct st_remote *st_remote_free(struct st_remote *remote)
{
	if (!remote)
		return NULL;
	free(remote->name);
	free(remote->url);
	free(remote->keys_dir);
	for (size_t i = 0; i < remote->n_mirrors; i++)
		free(remote->mirrors[i]);
	free(remote->mirrors);
	free(remote->tls_ca);
	free(remote->tls_client_cert);
	free(remote->tls_client_key);
	free(remote->proxy);
	free(remote);
	return NULL;
}

static void remote_freep(struct st_remote **r)
{
	st_remote_free(*r);
}

void st_remote_list_free(struct st_remote **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		st_remote_free(list[i]);
	free(list);
}

static int check_options(const char *name, const struct st_remote *rem, int err);
static int config_text(const struct st_remote *rem, char **ret);

static int check_name(const char *name)
{
	if (!st_remote_name_valid(name))
		return st_errf(-EINVAL, "'%s' is not a valid remote name ([A-Za-z0-9._-], not starting with '.', at most %d bytes)",
			       name ? name : "(null)", ST_REMOTE_NAME_MAX);
	return 0;
}

int st_remote_add(struct st_repo *repo, const struct st_remote *remote)
{
	_cleanup_free_ char *text = NULL, *dir = NULL, *display = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!repo || !remote)
		return -EINVAL;
	r = check_name(remote->name);
	if (r < 0)
		return r;
	if (!st_remote_url_valid(remote->url))
		return st_errf(-EINVAL, "remote '%s': URL must start with http://, https:// or file:/// and hold no space or control character",
			       remote->name);
	r = check_options(remote->name, remote, -EINVAL);
	if (r < 0)
		return r;
	r = config_text(remote, &text);
	if (r < 0)
		return r;
	if (asprintf(&dir, "remotes/%s", remote->name) < 0 ||
	    asprintf(&display, "%s/remotes/%s/config", st_repo_path(repo), remote->name) < 0)
		return -ENOMEM;
	fd = mkdirat_beneath(st_repo_dirfd(repo), dir, 0755, true);
	if (fd < 0)
		return st_errf(fd, "cannot create '%s/%s'", st_repo_path(repo), dir);
	/* Never replacing: an existing config is kept (0), and that remote exists already. */
	r = publish_data(fd, "config", display, text, strlen(text), 0644, PUBLISH_SYNC, NULL);
	if (r == 0)
		return st_errf(-EEXIST, "remote '%s' exists already", remote->name);
	return r < 0 ? r : 0;
}

/* The optional keys: paths without control characters, mirror URLs valid and at most ST_REMOTE_MIRRORS_MAX. */
static int check_options(const char *name, const struct st_remote *rem, int err)
{
	const struct {
		const char *key, *value;
	} paths[] = {
		{ "keys-dir", rem->keys_dir },
		{ "tls-ca", rem->tls_ca },
		{ "tls-client-cert", rem->tls_client_cert },
		{ "tls-client-key", rem->tls_client_key },
	};

	for (size_t i = 0; i < ELEMENTSOF(paths); i++)
		if (paths[i].value && !path_value_valid(paths[i].value))
			return st_errf(err, "remote '%s': bad %s (empty, too long, or a control character)", name, paths[i].key);
	if (rem->proxy && !path_value_valid(rem->proxy))
		return st_errf(err, "remote '%s': bad proxy", name);
	if (rem->n_mirrors > ST_REMOTE_MIRRORS_MAX)
		return st_errf(err, "remote '%s': more than %d mirrors", name, ST_REMOTE_MIRRORS_MAX);
	for (size_t i = 0; i < rem->n_mirrors; i++)
		if (!st_remote_url_valid(rem->mirrors[i]))
			return st_errf(err, "remote '%s': mirror '%s' must start with http://, https:// or file:/// and hold no space or control character",
				       name, rem->mirrors[i]);
	if (!rem->tls_client_cert != !rem->tls_client_key)
		return st_errf(err, "remote '%s': tls-client-cert and tls-client-key go together", name);
	return 0;
}

static int append_line(char **text, const char *key, const char *value)
{
	char *n;

	if (!value)
		return 0;
	if (asprintf(&n, "%s%s=%s\n", *text, key, value) < 0)
		return -ENOMEM;
	free(*text);
	*text = n;
	return 0;
}

static int config_text(const struct st_remote *rem, char **ret)
{
	_cleanup_free_ char *text = strdup("");
	int r;

	if (!text)
		return -ENOMEM;
	r = append_line(&text, "url", rem->url);
	for (size_t i = 0; r >= 0 && i < rem->n_mirrors; i++)
		r = append_line(&text, "mirror", rem->mirrors[i]);
	if (r >= 0)
		r = append_line(&text, "keys-dir", rem->keys_dir);
	if (r >= 0)
		r = append_line(&text, "sign-verify", rem->sign_verify ? "yes" : "no");
	if (r >= 0)
		r = append_line(&text, "tls-ca", rem->tls_ca);
	if (r >= 0)
		r = append_line(&text, "tls-client-cert", rem->tls_client_cert);
	if (r >= 0)
		r = append_line(&text, "tls-client-key", rem->tls_client_key);
	if (r >= 0)
		r = append_line(&text, "proxy", rem->proxy);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(text);
	return 0;
}

static int add_mirror(struct st_remote *rem, const char *url)
{
	char **n;

	if (rem->n_mirrors >= ST_REMOTE_MIRRORS_MAX)
		return st_errf(-EUCLEAN, "remote '%s': more than %d mirrors", rem->name, ST_REMOTE_MIRRORS_MAX);
	n = reallocarray(rem->mirrors, rem->n_mirrors + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	rem->mirrors = n;
	rem->mirrors[rem->n_mirrors] = strdup(url);
	if (!rem->mirrors[rem->n_mirrors])
		return -ENOMEM;
	rem->n_mirrors++;
	return 0;
}

static int parse_config(const char *name, const char *text, struct st_remote **ret)
{
	_cleanup_(remote_freep) struct st_remote *rem = calloc(1, sizeof(*rem));
	const char *p = text;

	if (!rem)
		return -ENOMEM;
	rem->name = strdup(name);
	if (!rem->name)
		return -ENOMEM;
	rem->sign_verify = true;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		_cleanup_free_ char *line = strndup(p, len);
		char **slot = NULL;
		char *eq;

		if (!line)
			return -ENOMEM;
		p += len + (nl ? 1 : 0);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq)
			return st_errf(-EUCLEAN, "remote '%s': config line '%s' has no '='", name, line);
		*eq++ = '\0';
		if (strcmp(line, "url") == 0)
			slot = &rem->url;
		else if (strcmp(line, "keys-dir") == 0)
			slot = &rem->keys_dir;
		else if (strcmp(line, "tls-ca") == 0)
			slot = &rem->tls_ca;
		else if (strcmp(line, "tls-client-cert") == 0)
			slot = &rem->tls_client_cert;
		else if (strcmp(line, "tls-client-key") == 0)
			slot = &rem->tls_client_key;
		else if (strcmp(line, "proxy") == 0)
			slot = &rem->proxy;
		else if (strcmp(line, "mirror") == 0) {
			int r = add_mirror(rem, eq);

			if (r < 0)
				return r;
			continue;
		}
		else if (strcmp(line, "sign-verify") == 0) {
			if (strcmp(eq, "yes") != 0 && strcmp(eq, "no") != 0)
				return st_errf(-EUCLEAN, "remote '%s': sign-verify must be yes or no", name);
			rem->sign_verify = strcmp(eq, "yes") == 0;
			continue;
		} else
			continue;
		free(*slot);
		*slot = strdup(eq);
		if (!*slot)
			return -ENOMEM;
	}
	if (!st_remote_url_valid(rem->url))
		return st_errf(-EUCLEAN, "remote '%s': config has no valid url", name);
	{
		int r = check_options(name, rem, -EUCLEAN);

		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(rem);
	return 0;
}

int st_remote_get(struct st_repo *repo, const char *name, struct st_remote **ret)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	size_t len;
	int r;

	if (!repo || !ret)
		return -EINVAL;
	r = check_name(name);
	if (r < 0)
		return r;
	if (asprintf(&path, "remotes/%s/config", name) < 0)
		return -ENOMEM;
	r = read_file_capped(st_repo_dirfd(repo), path, REMOTE_CONFIG_MAX, READ_FILE_BENEATH, &text, &len);
	if (r == -ENOENT)
		return st_errf(-ENOENT, "no remote '%s'", name);
	if (r < 0)
		return r;
	if (strlen(text) != len)
		return st_errf(-EUCLEAN, "remote '%s': config holds a NUL byte", name);
	return parse_config(name, text, ret);
}

int st_remote_delete(struct st_repo *repo, const char *name)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!repo)
		return -EINVAL;
	r = check_name(name);
	if (r < 0)
		return r;
	if (asprintf(&dir, "remotes/%s", name) < 0)
		return -ENOMEM;
	fd = openat_beneath(st_repo_dirfd(repo), dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd == -ENOENT)
		return st_errf(-ENOENT, "no remote '%s'", name);
	if (fd < 0)
		return st_errf(fd, "cannot open '%s/%s'", st_repo_path(repo), dir);
	/* The config last: a remote without it is no remote. */
	if ((unlinkat(fd, "seen", 0) < 0 && errno != ENOENT) || (unlinkat(fd, "config", 0) < 0 && errno != ENOENT))
		return st_errf(-errno, "cannot delete remote '%s'", name);
	if (fsync(fd) < 0)
		return st_errf(-errno, "cannot sync '%s/%s'", st_repo_path(repo), dir);
	if (unlinkat(st_repo_dirfd(repo), dir, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return st_errf(-errno, "cannot remove '%s/%s'", st_repo_path(repo), dir);
	return 0;
}

static int cmp_remote(const void *a, const void *b)
{
	return strcmp((*(struct st_remote *const *)a)->name, (*(struct st_remote *const *)b)->name);
}

int st_remote_list(struct st_repo *repo, struct st_remote ***ret, size_t *ret_n)
{
	struct st_remote **list = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	size_t n = 0;
	int r;

	if (!repo || !ret || !ret_n)
		return -EINVAL;
	r = opendir_beneath(st_repo_dirfd(repo), "remotes", &d);
	if (r == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (r < 0)
		return st_errf(r, "cannot open '%s/remotes'", st_repo_path(repo));
	while ((r = readdir_next(d, &de)) > 0) {
		struct st_remote *rem = NULL, **nl;

		if (!st_remote_name_valid(de->d_name))
			continue;
		r = st_remote_get(repo, de->d_name, &rem);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		nl = reallocarray(list, n + 1, sizeof(*list));
		if (!nl) {
			st_remote_free(rem);
			r = -ENOMEM;
			break;
		}
		list = nl;
		list[n++] = rem;
	}
	if (r < 0) {
		st_remote_list_free(list, n);
		return r;
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), cmp_remote);
	*ret = list;
	*ret_n = n;
	return 0;
}

int remote_read_seen(struct st_repo *repo, const char *name, int64_t *ret)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	size_t len;
	uint64_t v;
	int r;

	if (asprintf(&path, "remotes/%s/seen", name) < 0)
		return -ENOMEM;
	r = read_file_capped(st_repo_dirfd(repo), path, 64, READ_FILE_BENEATH, &text, &len);
	if (r == -ENOENT) {
		*ret = 0;
		return 0;
	}
	if (r < 0)
		return r;
	if (len < 2 || text[len - 1] != '\n' || parse_uint_n(text, len - 1, 10, INT64_MAX, PARSE_CANONICAL, &v) < 0)
		return st_errf(-EUCLEAN, "'%s/%s' does not hold a timestamp", st_repo_path(repo), path);
	*ret = (int64_t)v;
	return 0;
}

int remote_write_seen(struct st_repo *repo, const char *name, int64_t ts)
{
	_cleanup_free_ char *dir = NULL, *display = NULL;
	_cleanup_close_ int fd = -EBADF;
	char buf[32];
	int r;

	if (asprintf(&dir, "remotes/%s", name) < 0 || asprintf(&display, "%s/remotes/%s/seen", st_repo_path(repo), name) < 0)
		return -ENOMEM;
	fd = openat_beneath(st_repo_dirfd(repo), dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return st_errf(fd, "cannot open '%s/%s'", st_repo_path(repo), dir);
	(void)snprintf(buf, sizeof(buf), "%lld\n", (long long)ts);
	r = publish_data(fd, "seen", display, buf, strlen(buf), 0644, PUBLISH_REPLACE | PUBLISH_SYNC, NULL);
	return r < 0 ? r : 0;
}
