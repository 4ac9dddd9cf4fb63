/* SPDX-License-Identifier: MIT */
/*
 * tun-delay: a packet-level delay line between two network namespaces, for
 * kernels without sch_netem (bench/bench-pull-netem.sh).
 *
 *   tun-delay DELAY_MS NETNS_A NETNS_B [MTU [QUEUE_BYTES [gso|nogso]]]
 *
 * Opens a TUN device named "tund0" in each namespace (NETNS_* are paths
 * such as /run/netns/NAME) and forwards every IP packet read from one to
 * the other DELAY_MS milliseconds later, in order, so that a round trip
 * costs 2 * DELAY_MS: TCP's handshake, ACKs and every request alike, as
 * netem delays them. Each direction is a FIFO of at most QUEUE_BYTES
 * (default 16 MiB, several times the bandwidth-delay product at 1 Gbit/s
 * and 25 ms); a packet that finds it full is dropped, as a full router
 * queue drops it. Prints "ready" on stdout once both devices exist (the
 * caller then gives them addresses and brings them up) and runs until
 * killed, printing the packets forwarded and dropped on SIGTERM/SIGINT
 * (and on SIGHUP, which does not stop it: the counts so far).
 * SIGUSR1 sets the delay to 0 and SIGUSR2 back to DELAY_MS, for packets
 * read from then on: a bench changes the delay without making the devices
 * again (a TUN device still referenced by sockets can take seconds to go).
 *
 * gso (the default): the devices take segmentation offload (IFF_VNET_HDR,
 * TUNSETOFFLOAD), as a veth pair does: TCP still sends MTU-sized segments
 * (its MSS, its congestion window counted in them, slow start unchanged)
 * but the kernel hands the relay up to 64 KiB of consecutive segments as
 * one packet, and the other side receives them as one, as GRO would. The
 * relay then costs a few syscalls per 64 KiB instead of two per 1.5 KiB:
 * with nogso, on 2 loaded cores, the relay and the stack behind it were
 * the bottleneck (the TUN ring of txqueuelen packets overflowed).
 *
 * Not part of sealtree: a benchmark tool, never installed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

struct packet {
	struct packet *next;
	uint64_t due_ns;
	size_t len;
	uint8_t data[];
};

struct line {
	int in, out;                    /* read from in, written to out */
	struct packet *head, *tail;     /* FIFO, oldest first */
	uint64_t bytes, max_bytes;      /* queued, at most */
	uint64_t forwarded, dropped;
};

/* A packet with its virtio-net header: 64 KiB of GSO payload, headers, room to spare. */
#define PACKET_MAX (256u * 1024u)

static volatile sig_atomic_t stop, zero_delay, print_counts;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		zero_delay = 1;
	else if (sig == SIGUSR2)
		zero_delay = 0;
	else if (sig == SIGHUP)
		print_counts = 1;
	else
		stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

/* A TUN device "tund0" in the namespace at path; the caller's namespace is left as it was. */
static int tun_in(const char *netns, int home, bool gso)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI | (gso ? IFF_VNET_HDR : 0) };
	int ns, fd;

	ns = open(netns, O_RDONLY | O_CLOEXEC);
	if (ns < 0) {
		fprintf(stderr, "tun-delay: cannot open %s: %s\n", netns, strerror(errno));
		return -1;
	}
	if (setns(ns, CLONE_NEWNET) < 0) {
		fprintf(stderr, "tun-delay: cannot enter %s: %s\n", netns, strerror(errno));
		close(ns);
		return -1;
	}
	close(ns);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "tun-delay: cannot open /dev/net/tun: %s\n", strerror(errno));
	else {
		(void)snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "tund0");
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			fprintf(stderr, "tun-delay: TUNSETIFF in %s: %s\n", netns, strerror(errno));
			close(fd);
			fd = -1;
		} else if (gso && ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) < 0) {
			fprintf(stderr, "tun-delay: TUNSETOFFLOAD in %s: %s\n", netns, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	if (setns(home, CLONE_NEWNET) < 0) {
		fprintf(stderr, "tun-delay: cannot return to the first namespace: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void line_init(struct line *l, int in, int out, uint64_t queue_bytes)
{
	*l = (struct line){ .in = in, .out = out, .max_bytes = queue_bytes };
}

/* Read every packet waiting on l->in into the queue, due delay_ns from now; false: out of memory. */
static bool line_read(struct line *l, uint64_t delay_ns)
{
	static uint8_t buf[PACKET_MAX];

	for (;;) {
		ssize_t n = read(l->in, buf, sizeof(buf));
		struct packet *p;

		if (n < 0)
			return true;    /* EAGAIN: drained (or an error: tried again on the next wake) */
		if (l->bytes + (uint64_t)n > l->max_bytes) {
			l->dropped++;
			continue;
		}
		p = malloc(sizeof(*p) + (size_t)n);
		if (!p)
			return false;
		*p = (struct packet){ .due_ns = now_ns() + delay_ns, .len = (size_t)n };
		memcpy(p->data, buf, (size_t)n);
		if (l->tail)
			l->tail->next = p;
		else
			l->head = p;
		l->tail = p;
		l->bytes += (uint64_t)n;
	}
}

/* Write the packets that are due; the time until the next one (UINT64_MAX: none). */
static uint64_t line_write(struct line *l)
{
	uint64_t now = now_ns();

	while (l->head) {
		struct packet *p = l->head;

		if (p->due_ns > now)
			return p->due_ns - now;
		if (write(l->out, p->data, p->len) < 0 && errno == EAGAIN)
			return 100000;  /* the stack is busy: 0.1 ms */
		l->forwarded++;
		l->head = p->next;
		if (!l->head)
			l->tail = NULL;
		l->bytes -= p->len;
		free(p);
	}
	return UINT64_MAX;
}

static void counts(const struct line *ab, const struct line *ba)
{
	fprintf(stderr, "tun-delay: A->B %" PRIu64 " packets forwarded, %" PRIu64 " dropped; B->A %" PRIu64
		" forwarded, %" PRIu64 " dropped\n", ab->forwarded, ab->dropped, ba->forwarded, ba->dropped);
	fflush(stderr);
}

int main(int argc, char **argv)
{
	uint64_t delay_ms, mtu = 1500, queue_bytes = 16u << 20;
	struct line ab, ba;
	int home, a, b;
	bool gso = argc <= 6 || strcmp(argv[6], "gso") == 0;

	if (argc < 4 || argc > 7 || !parse_u64(argv[1], 0, 10000, &delay_ms) ||
	    (argc > 4 && !parse_u64(argv[4], 576, 65535, &mtu)) ||
	    (argc > 5 && !parse_u64(argv[5], 65536, UINT64_C(1) << 32, &queue_bytes)) ||
	    (argc > 6 && !gso && strcmp(argv[6], "nogso") != 0)) {
		fprintf(stderr, "usage: tun-delay DELAY_MS NETNS_A NETNS_B [MTU [QUEUE_BYTES [gso|nogso]]]\n");
		return 2;
	}
	(void)mtu;      /* the devices' MTU is set by the caller; checked here for the usage only */
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0) {
		fprintf(stderr, "tun-delay: cannot open /proc/self/ns/net: %s\n", strerror(errno));
		return 1;
	}
	a = tun_in(argv[2], home, gso);
	b = a < 0 ? -1 : tun_in(argv[3], home, gso);
	if (a < 0 || b < 0)
		return 1;
	line_init(&ab, a, b, queue_bytes);
	line_init(&ba, b, a, queue_bytes);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGUSR2, on_signal);
	signal(SIGHUP, on_signal);
	printf("ready\n");
	fflush(stdout);

	while (!stop) {
		struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
		uint64_t wait_ns = UINT64_MAX, w;
		struct timespec ts, *tsp = NULL;

		if (print_counts) {
			print_counts = 0;
			counts(&ab, &ba);
		}
		w = line_write(&ab);
		wait_ns = w < wait_ns ? w : wait_ns;
		w = line_write(&ba);
		wait_ns = w < wait_ns ? w : wait_ns;
		if (wait_ns != UINT64_MAX) {
			ts = (struct timespec){ .tv_sec = (time_t)(wait_ns / 1000000000u), .tv_nsec = (long)(wait_ns % 1000000000u) };
			tsp = &ts;
		}
		if (ppoll(p, 2, tsp, NULL) < 0 && errno != EINTR)
			break;
		if (((p[0].revents & POLLIN) && !line_read(&ab, zero_delay ? 0 : delay_ms * 1000000u)) ||
		    ((p[1].revents & POLLIN) && !line_read(&ba, zero_delay ? 0 : delay_ms * 1000000u))) {
			fprintf(stderr, "tun-delay: out of memory\n");
			return 1;
		}
	}
	counts(&ab, &ba);
	return 0;
}
