// SPDX-License-Identifier: GPL-2.0
/*
 * splice-probe: small programs the guest tests run to reach the code a
 * fix changes and to observe its behaviour, one subcommand each:
 *
 *	splice-probe pipe-fasync	O_ASYNC on and off on a FIFO open for
 *					reading and writing (pipe_fasync())
 *	splice-probe sched-change	moves itself to SCHED_FIFO and back,
 *					and renices itself (sched_change_end())
 *	splice-probe pidns-freeze	freezes user space while the init of a
 *					PID namespace waits in
 *					zap_pid_ns_processes() for a zombie
 *					(samples/splice/demo/pidns-freeze.c)
 *	splice-probe inotify		an inotify watch added and removed
 *					(fsnotify_add_mark_locked())
 *	splice-probe tcp-getsockopt	TCP_INFO of a TCP socket
 *					(do_tcp_getsockopt()), and its
 *					congestion control set to reno
 *					(tcp_set_congestion_control())
 *	splice-probe io-uring		a child sets up an io_uring instance
 *					and exits with it (its exit cancels
 *					the task's requests:
 *					io_uring_cancel_generic())
 *	splice-probe uname-null		uname(NULL): the fault of the copy to
 *					user space must come back as EFAULT
 *	splice-probe waitid		waitid() of an exited child into a
 *					siginfo, then into an unmapped page
 *					(the unsafe_put_user()s of
 *					__do_sys_waitid() fault: EFAULT, by
 *					the exception table of the code that
 *					runs)
 *	splice-probe read-loop FILE STOP VALUE...
 *					reads FILE in a tight loop until the
 *					file STOP exists; prints how often it
 *					read each VALUE, and fails if it read
 *					anything else or not every VALUE
 *					(the stress test's callers)
 *	splice-probe fail-nth N write FILE VALUE
 *	splice-probe fail-nth N insmod MODULE.ko
 *					the write of VALUE to FILE, or the
 *					load of MODULE, with the N-th
 *					allocation of this task made to fail
 *					(/proc/thread-self/fail-nth, the
 *					debug kernel's fault injection);
 *					prints its result and whether the
 *					fault was reached, and if not, how
 *					many of N were left (tests/debug/)
 *	splice-probe fail-sweep DIR ACTION FILE OLD NEW FOLLOW
 *					ACTION written to DIR/stage with the
 *					N-th allocation failing, N = 1, 2, ...
 *					until it is not reached (after a run
 *					that counts them); after each failure
 *					the error is ENOMEM, the stage as
 *					before, abort_cause out_of_memory or
 *					none, and FILE reads OLD (NEW when
 *					applied); after a success, the
 *					actions of FOLLOW (a,b,...) are
 *					written and must succeed
 *	splice-probe exec-count READY STOP ADDR...
 *					counts the executions of the kernel
 *					code at each ADDR (hex; four at most,
 *					x86 has four debug registers) on every
 *					CPU with hardware breakpoints, from
 *					when it creates the file READY until
 *					the file STOP exists; prints "ADDR
 *					COUNT" for each (trace.sh: the calls
 *					of replacements built without ftrace
 *					sites)
 *	splice-probe ring-map FILE	maps the meta page of a ring buffer's
 *					trace_pipe_raw FILE (ring_buffer_map())
 *					and asks it for a reader sub-buffer
 *					(ring_buffer_map_get_reader(),
 *					rb_update_meta_page())
 *	splice-probe without-cap-sys-module CMD...
 *					runs CMD as root without
 *					CAP_SYS_MODULE (dropped from the
 *					bounding set, which an execve of root
 *					takes its capabilities from)
 *
 * Each prints what it observed on one line and exits 0, or prints the
 * failing call and exits 1; usage errors exit 2. pidns-freeze exits 0 when
 * it sees the fixed behaviour and 3 when it sees the old one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/hw_breakpoint.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static int failed(const char *what)
{
	printf("%s: %s\n", what, strerror(errno));
	return 1;
}

/* pipe_fasync() with both of a FIFO's lists: opened for reading and writing. */
static int pipe_fasync(void)
{
	const char *path = "/tmp/splice-probe.fifo";
	int fd, fl;

	unlink(path);
	if (mkfifo(path, 0600))
		return failed("mkfifo");
	fd = open(path, O_RDWR);
	if (fd < 0)
		return failed("open");
	if (fcntl(fd, F_SETOWN, getpid()))
		return failed("F_SETOWN");
	fl = fcntl(fd, F_GETFL);
	if (fcntl(fd, F_SETFL, fl | O_ASYNC))
		return failed("F_SETFL O_ASYNC");
	if (fcntl(fd, F_SETFL, fl & ~O_ASYNC))
		return failed("F_SETFL ~O_ASYNC");
	close(fd);
	unlink(path);
	printf("pipe-fasync: O_ASYNC set and cleared on a FIFO open O_RDWR\n");
	return 0;
}

/* An inotify watch on /tmp, added and removed. */
static int inotify_probe(void)
{
	int fd = inotify_init1(IN_CLOEXEC), wd;

	if (fd < 0)
		return failed("inotify_init1");
	wd = inotify_add_watch(fd, "/tmp", IN_CREATE);
	if (wd < 0)
		return failed("inotify_add_watch");
	if (inotify_rm_watch(fd, wd))
		return failed("inotify_rm_watch");
	close(fd);
	printf("inotify: a watch on /tmp added and removed\n");
	return 0;
}

/* getsockopt(TCP_INFO) of a TCP socket, which need not be connected. */
static int tcp_getsockopt(void)
{
	struct tcp_info info;
	socklen_t len = sizeof(info);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return failed("socket(AF_INET, SOCK_STREAM)");
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len))
		return failed("getsockopt(TCP_INFO)");
	if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4))
		return failed("setsockopt(TCP_CONGESTION, reno)");
	close(fd);
	printf("tcp-getsockopt: TCP_INFO of a socket in state %u; congestion control reno\n",
	       info.tcpi_state);
	return 0;
}

/* A child that sets up an io_uring instance and exits with it still open. */
static int io_uring_probe(void)
{
	struct io_uring_params p;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return failed("fork");
	if (pid == 0) {
		memset(&p, 0, sizeof(p));
		_exit(syscall(__NR_io_uring_setup, 4, &p) < 0 ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return failed("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		errno = EIO;
		return failed("io_uring_setup in the child");
	}
	printf("io-uring: a child set up an io_uring instance and exited with it\n");
	return 0;
}

/*
 * The start of include/uapi/linux/trace_mmap.h's struct trace_buffer_meta and
 * its ioctl (since 6.10), which the C library's kernel headers may not have.
 */
struct ring_meta {
	__u32 meta_page_size;
	__u32 meta_struct_len;
	__u32 subbuf_size;
	__u32 nr_subbufs;
};
#define RING_MMAP_IOCTL_GET_READER _IO('R', 0x20)

/* A memory-mapped reader of the ring buffer behind @path (a trace_pipe_raw). */
static int ring_map(const char *path)
{
	long page = sysconf(_SC_PAGESIZE);
	struct ring_meta *meta;
	int fd = open(path, O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return failed(path);
	meta = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	if (meta == MAP_FAILED)
		return failed("mmap of the ring buffer's meta page");
	if (ioctl(fd, RING_MMAP_IOCTL_GET_READER) < 0)
		return failed("ioctl TRACE_MMAP_IOCTL_GET_READER");
	printf("ring-map: %u sub-buffers of %u bytes mapped; a reader taken\n",
	       meta->nr_subbufs, meta->subbuf_size);
	munmap(meta, page);
	close(fd);
	return 0;
}

static int write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* CPU time (utime + stime, in clock ticks) of @pid. */
static unsigned long long task_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long utime = 0, stime = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)))
		return 0;
	p = strrchr(buf, ')');	/* comm may hold spaces */
	if (p)
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		       &utime, &stime);
	return utime + stime;
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * zap_pid_ns_processes(): the init of a PID namespace exits while a task of
 * the namespace is a zombie of ours. Before the fix it waits in
 * TASK_INTERRUPTIBLE, which the freezer cannot freeze in place: freezing
 * user space fails, or the fake signal leaves init spinning on a CPU. With
 * the fix it sleeps TASK_IDLE | TASK_FREEZABLE: the freeze works and init
 * stays asleep.
 */
static int pidns_freeze(void)
{
	char wchan[128] = "", saved_timeout[32] = "20000";
	unsigned long long t0, t1, ms;
	long hz = sysconf(_SC_CLK_TCK);
	int go[2], i, freeze_err;
	pid_t init, zombie;
	siginfo_t si;

	if (pipe(go))
		return failed("pipe");
	if (unshare(CLONE_NEWPID))
		return failed("unshare CLONE_NEWPID");
	init = fork();
	if (init == 0) {		/* pid 1 of the new namespace */
		char c;

		close(go[1]);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	if (init < 0)
		return failed("fork init");
	close(go[0]);
	zombie = fork();		/* in the namespace, our child */
	if (zombie == 0)
		_exit(0);
	if (zombie < 0)
		return failed("fork zombie");
	if (waitid(P_PID, zombie, &si, WEXITED | WNOWAIT))
		return failed("waitid zombie");
	close(go[1]);			/* init exits */
	for (i = 0; i < 200; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/wchan", init);
		if (!read_file(path, wchan, sizeof(wchan)) &&
		    !strcmp(wchan, "zap_pid_ns_processes"))
			break;
		msleep(10);
	}
	if (strcmp(wchan, "zap_pid_ns_processes")) {
		printf("pidns-freeze: init did not reach zap_pid_ns_processes (wchan '%s')\n", wchan);
		return 1;
	}
	/* Freeze user space as a suspend would, and thaw it. */
	read_file("/sys/power/pm_freeze_timeout", saved_timeout, sizeof(saved_timeout));
	if (write_file("/sys/power/pm_test", "freezer") ||
	    write_file("/sys/power/pm_freeze_timeout", "1000") ||
	    write_file("/sys/module/suspend/parameters/pm_test_delay", "0"))
		return failed("/sys/power (needs CONFIG_SUSPEND and CONFIG_PM_DEBUG)");
	freeze_err = write_file("/sys/power/state", "freeze");
	write_file("/sys/power/pm_freeze_timeout", saved_timeout);
	write_file("/sys/power/pm_test", "none");
	t0 = task_ticks(init);
	msleep(1000);
	t1 = task_ticks(init);
	ms = (t1 - t0) * 1000 / hz;
	waitpid(zombie, NULL, 0);	/* init finishes exiting */
	waitpid(init, NULL, 0);
	printf("pidns-freeze: freezing user space %s, then the exiting init used %llu ms of CPU in 1 s: %s\n",
	       freeze_err ? "failed" : "worked", ms,
	       freeze_err || ms > 200 ? "old behaviour" : "fixed behaviour");
	return freeze_err || ms > 200 ? 3 : 0;
}

/* A change of class and of priority of a running task: sched_change_end(). */
static int sched_change(void)
{
	struct sched_param fifo = { .sched_priority = 10 }, other = { 0 };

	if (sched_setscheduler(0, SCHED_FIFO, &fifo))
		return failed("sched_setscheduler SCHED_FIFO");
	if (sched_setscheduler(0, SCHED_OTHER, &other))
		return failed("sched_setscheduler SCHED_OTHER");
	if (setpriority(PRIO_PROCESS, 0, 5))
		return failed("setpriority 5");
	printf("sched-change: SCHED_FIFO 10, SCHED_OTHER, nice 5\n");
	return 0;
}

/* uname(NULL): prints the errno, which must be EFAULT. */
static int uname_null(void)
{
	long r = syscall(SYS_uname, NULL);

	if (r == 0) {
		printf("uname-null: uname(NULL) succeeded\n");
		return 1;
	}
	printf("uname-null: uname(NULL): %s\n", strerror(errno));
	return errno == EFAULT ? 0 : 1;
}

/* waitid() of an exited child into @si; returns 0 or -errno. */
static int wait_child_into(siginfo_t *si)
{
	pid_t child = fork();
	int err;

	if (child < 0)
		return -errno;
	if (child == 0)
		_exit(7);
	err = waitid(P_PID, child, si, WEXITED | WNOWAIT) ? -errno : 0;
	waitpid(child, NULL, 0);	/* reap it whatever waitid did */
	return err;
}

/*
 * The si_errno a waitid() of an exited child reports (the catalogue's
 * user-access fix sets 94), then the error of a waitid() whose siginfo lies in
 * a page that is no longer mapped: the first unsafe_put_user() faults, and the
 * exception table entry of the running code turns the fault into EFAULT.
 */
static int waitid_probe(void)
{
	siginfo_t si = { 0 }, *gone;
	int err;

	err = wait_child_into(&si);
	if (err) {
		errno = -err;
		return failed("waitid");
	}
	gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (gone == MAP_FAILED)
		return failed("mmap");
	if (munmap(gone, 4096))
		return failed("munmap");
	err = wait_child_into(gone);
	printf("waitid: si_signo %d si_errno %d si_status %d; into an unmapped page: %s\n",
	       si.si_signo, si.si_errno, si.si_status, err ? strerror(-err) : "succeeded");
	return err == -EFAULT ? 0 : 1;
}

static const struct {
	const char *name;
	int (*run)(void);
} probes[] = {
	{ "pipe-fasync", pipe_fasync },
	{ "inotify", inotify_probe },
	{ "tcp-getsockopt", tcp_getsockopt },
	{ "io-uring", io_uring_probe },
	{ "sched-change", sched_change },
	{ "pidns-freeze", pidns_freeze },
	{ "uname-null", uname_null },
	{ "waitid", waitid_probe },
};

/*
 * Reads @file (a sysfs attribute that calls a patched function) from the
 * start, again and again, until @stop exists, and counts what it read: each
 * of the @n @values, or something else. Prints "read-loop: N reads: V=c ...
 * other=c"; exits 0 only if every read was one of @values and each was read
 * at least once.
 */
static int read_loop(const char *file, const char *stop, char **values, int n)
{
	unsigned long counts[8] = { 0 }, other = 0, reads = 0;
	char buf[256], last_other[256] = "";
	int fd, i, seen_all = 1;

	if (n < 1 || n > 8) {
		fprintf(stderr, "read-loop: 1 to 8 values\n");
		return 2;
	}
	fd = open(file, O_RDONLY);
	if (fd < 0)
		return failed(file);
	for (;;) {
		ssize_t len;

		if ((reads & 255) == 0 && access(stop, F_OK) == 0)
			break;
		len = pread(fd, buf, sizeof(buf) - 1, 0);
		if (len < 0)
			return failed("pread");
		buf[len] = 0;
		buf[strcspn(buf, "\n")] = 0;
		reads++;
		for (i = 0; i < n; i++)
			if (!strcmp(buf, values[i])) {
				counts[i]++;
				break;
			}
		if (i == n) {
			other++;
			snprintf(last_other, sizeof(last_other), "%s", buf);
		}
	}
	close(fd);
	printf("read-loop: %lu reads:", reads);
	for (i = 0; i < n; i++) {
		printf(" %s=%lu", values[i], counts[i]);
		seen_all &= counts[i] > 0;
	}
	printf(" other=%lu%s%s\n", other, other ? ", last: " : "", last_other);
	return other || !seen_all;
}

/*
 * @op with the @nth allocation of this thread failing. Everything the
 * operation needs is opened first, and fail-nth is set and read through an
 * open file, which allocates nothing: the count starts at the operation.
 * Prints "fail-nth N: OP: ok|ERROR; fault injected|fault not reached (K
 * left)": when the fault was not reached, OP made N - K allocations that
 * count (with a large N, the number OP makes).
 */
static int fail_nth(const char *nth, const char *op, const char *path, const char *value)
{
	char left[32] = "";
	int ctl, fd, err = 0;
	ssize_t n;

	ctl = open("/proc/thread-self/fail-nth", O_RDWR);
	if (ctl < 0)
		return failed("/proc/thread-self/fail-nth (needs CONFIG_FAULT_INJECTION)");
	fd = open(path, !strcmp(op, "write") ? O_WRONLY : O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return failed(path);
	if (write(ctl, nth, strlen(nth)) < 0)
		return failed("setting fail-nth");
	if (!strcmp(op, "write"))
		err = write(fd, value, strlen(value)) < 0 ? errno : 0;
	else
		err = syscall(SYS_finit_module, fd, "", 0) ? errno : 0;
	n = pread(ctl, left, sizeof(left) - 1, 0);
	if (write(ctl, "0", 1) < 0 || n < 0)
		return failed("resetting fail-nth");
	left[n] = 0;
	close(fd);
	close(ctl);
	printf("fail-nth %s: %s: %s; ", nth, op, err ? strerror(err) : "ok");
	if (atoi(left))
		printf("fault not reached (%d left)\n", atoi(left));
	else
		printf("fault injected\n");
	return 0;
}

/*
 * A line for the kernel log, through @kmsg (one write(2), one record: glibc's
 * dprintf() writes in a way /dev/kmsg refuses with EINVAL).
 */
static void kmsg_line(int kmsg, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	if (kmsg < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && write(kmsg, line, n < (int)sizeof(line) ? n : (int)sizeof(line) - 1) < 0)
		perror("/dev/kmsg");
}

/* The stage an action leaves a pack in when it succeeds. */
static const char *stage_after(const char *action)
{
	if (!strcmp(action, "check"))
		return "checked";
	if (!strcmp(action, "apply"))
		return "applied";
	if (!strcmp(action, "reverse"))
		return "reversed";
	return NULL;
}

/* The first line of @dir/@file into @buf ("?" if it cannot be read). */
static const char *first_line(const char *dir, const char *file, char *buf, size_t size)
{
	char path[256];

	snprintf(path, sizeof(path), "%s%s%s", dir, *dir ? "/" : "", file);
	if (read_file(path, buf, size))
		snprintf(buf, size, "?");
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

struct sweep {
	const char *dir, *action, *valuefile, *old, *new;
	char *follow;		/* actions written after a success, comma-separated */
	int ctl, stage;		/* /proc/thread-self/fail-nth, DIR/stage */
};

/*
 * Checks that the pack is in @stage and that the target shows the value of
 * that stage: NEW when applied, OLD otherwise. Prints what is wrong.
 */
static int consistent(const struct sweep *w, const char *stage, int n, const char *what)
{
	char got[64], cause[64], value[256];

	first_line(w->dir, "stage", got, sizeof(got));
	first_line(w->dir, "abort_cause", cause, sizeof(cause));
	first_line("", w->valuefile, value, sizeof(value));
	if (strcmp(got, stage)) {
		printf("%s with allocation %d failing: %s left stage %s, expected %s (abort_cause %s)\n",
		       w->action, n, what, got, stage, cause);
		return 1;
	}
	if (strcmp(value, strcmp(stage, "applied") ? w->old : w->new)) {
		printf("%s with allocation %d failing: %s left %s reading '%s' in stage %s\n",
		       w->action, n, what, w->valuefile, value, stage);
		return 1;
	}
	return 0;
}

/*
 * One write of the action with the @n-th allocation failing. Returns the
 * write's errno (0: it succeeded); *@reached says whether the fault was.
 */
static int faulted_write(const struct sweep *w, int n, int *reached)
{
	char nth[16], left[32] = "";
	ssize_t got;
	int err;

	snprintf(nth, sizeof(nth), "%d", n);
	if (pwrite(w->ctl, nth, strlen(nth), 0) < 0)
		return -1;
	err = pwrite(w->stage, w->action, strlen(w->action), 0) < 0 ? errno : 0;
	got = pread(w->ctl, left, sizeof(left) - 1, 0);
	if (pwrite(w->ctl, "0", 1, 0) < 0 || got < 0)
		return -1;
	left[got] = 0;
	*reached = atoi(left) == 0;
	return err;
}

/* The actions of w->follow, each of which must succeed. */
static int follow(const struct sweep *w, int n)
{
	char list[64], *a, *save = NULL;

	snprintf(list, sizeof(list), "%s", w->follow);
	for (a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		if (!stage_after(a) || pwrite(w->stage, a, strlen(a), 0) < 0) {
			printf("%s with allocation %d failing succeeded, then %s failed: %s\n",
			       w->action, n, a, strerror(errno));
			return 1;
		}
		if (consistent(w, stage_after(a), n, a))
			return 1;
	}
	return 0;
}

/*
 * fail-sweep: see the usage at the top. The loop runs here, not in the shell,
 * because a sweep is long: a check makes about 1,500 allocations of splice's,
 * and a fork of the shell's costs more than an action under lockdep and TCG.
 */
static int fail_sweep(struct sweep *w)
{
	char before[64], cause[64], left[32] = "";
	int n, reached, err, kmsg, total;
	ssize_t got;

	if (!stage_after(w->action))
		return printf("fail-sweep: unknown action %s\n", w->action), 2;
	w->ctl = open("/proc/thread-self/fail-nth", O_RDWR);
	if (w->ctl < 0)
		return failed("/proc/thread-self/fail-nth (needs CONFIG_FAULT_INJECTION)");
	snprintf(before, sizeof(before), "%s/stage", w->dir);
	w->stage = open(before, O_WRONLY);
	if (w->stage < 0)
		return failed(before);
	kmsg = open("/dev/kmsg", O_WRONLY);
	/* Counting: the millionth allocation is not reached, and 10^6 - left were made. */
	if (pwrite(w->ctl, "1000000", 7, 0) < 0)
		return failed("setting fail-nth");
	err = pwrite(w->stage, w->action, strlen(w->action), 0) < 0 ? errno : 0;
	got = pread(w->ctl, left, sizeof(left) - 1, 0);
	if (pwrite(w->ctl, "0", 1, 0) < 0 || got < 0)
		return failed("resetting fail-nth");
	left[got] = 0;
	if (err)
		return printf("%s without a fault failed: %s\n", w->action, strerror(err)), 1;
	total = 1000000 - atoi(left);
	if (consistent(w, stage_after(w->action), 0, "the counting run") || follow(w, 0))
		return 1;
	kmsg_line(kmsg, "splice-probe: %s makes %d allocations that can fail; failing each in turn\n",
		  w->action, total);
	for (n = 1;; n++) {
		first_line(w->dir, "stage", before, sizeof(before));
		err = faulted_write(w, n, &reached);
		if (err < 0)
			return failed("fail-nth");
		if (!reached) {
			if (err)
				return printf("%s without a fault (allocation %d not reached) failed: %s\n",
					      w->action, n, strerror(err)), 1;
			if (consistent(w, stage_after(w->action), n, "success") || follow(w, n))
				return 1;
			break;
		}
		if (!err) {
			/* A failure splice tolerates: the action went through as without one. */
			if (consistent(w, stage_after(w->action), n, "a tolerated failure") ||
			    follow(w, n))
				return 1;
		} else {
			if (err != ENOMEM)
				return printf("%s with allocation %d failing: %s, expected ENOMEM\n",
					      w->action, n, strerror(err)), 1;
			first_line(w->dir, "abort_cause", cause, sizeof(cause));
			if (strcmp(cause, "out_of_memory") && strcmp(cause, "none"))
				return printf("%s with allocation %d failing: abort_cause %s\n",
					      w->action, n, cause), 1;
			if (consistent(w, before, n, "a failure"))
				return 1;
		}
		if (n % 100 == 0)
			kmsg_line(kmsg, "splice-probe: %s: allocation %d of %d failed as expected\n",
				  w->action, n, total);
		if (n > total + 50)
			return printf("%s: still reaching the fault at allocation %d, of %d counted\n",
				      w->action, n, total), 1;
	}
	if (n == 1)
		return printf("%s: no allocation reached the fault (is the filter's range splice's code?)\n",
			      w->action), 1;
	printf("%s: %d allocation(s) failed in turn (%d counted), each left the pack as it was\n",
	       w->action, n - 1, total);
	return 0;
}

/* Runs argv[0...] as root without CAP_SYS_MODULE. */
static int without_cap_sys_module(char **cmd)
{
	if (prctl(PR_CAPBSET_DROP, 16 /* CAP_SYS_MODULE */, 0, 0, 0))
		return failed("prctl PR_CAPBSET_DROP CAP_SYS_MODULE");
	execvp(cmd[0], cmd);
	return failed("execvp");
}

#define EXEC_COUNT_MAX 4

/*
 * Counts the executions of the kernel code at each of the @n @addrs: a
 * hardware execute breakpoint per address and CPU (perf, counting, all
 * tasks), open before @ready is created and read once @stop exists. A
 * breakpoint that cannot be set fails the run, naming the address.
 */
static int exec_count(const char *ready, const char *stop, char **addrs, int n)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	unsigned long long addr[EXEC_COUNT_MAX], count;
	int *fds, i, cpu, open_cpus = 0;

	if (n < 1 || n > EXEC_COUNT_MAX || ncpu < 1) {
		fprintf(stderr, "exec-count: 1 to %d addresses\n", EXEC_COUNT_MAX);
		return 2;
	}
	fds = malloc(n * ncpu * sizeof(*fds));
	if (!fds)
		return failed("malloc");
	for (i = 0; i < n * ncpu; i++)
		fds[i] = -1;
	for (i = 0; i < n; i++) {
		char *end;

		addr[i] = strtoull(addrs[i], &end, 16);
		if (*end || !addr[i]) {
			fprintf(stderr, "exec-count: %s is not an address\n", addrs[i]);
			return 2;
		}
	}
	for (cpu = 0; cpu < ncpu; cpu++) {
		int opened = 0;

		for (i = 0; i < n; i++) {
			struct perf_event_attr a = {
				.type = PERF_TYPE_BREAKPOINT,
				.size = sizeof(a),
				.bp_type = HW_BREAKPOINT_X,
				.bp_addr = addr[i],
				.bp_len = sizeof(long),
			};
			int fd = syscall(__NR_perf_event_open, &a, -1, cpu, -1,
					 PERF_FLAG_FD_CLOEXEC);

			/* A CPU that is not online has nothing to count. */
			if (fd < 0 && errno == ENODEV && i == 0)
				break;
			if (fd < 0) {
				printf("exec-count: breakpoint at %s on CPU %d: %s\n",
				       addrs[i], cpu, strerror(errno));
				return 1;
			}
			fds[i * ncpu + cpu] = fd;
			opened = 1;
		}
		open_cpus += opened;
	}
	if (!open_cpus) {
		printf("exec-count: no CPU to count on\n");
		return 1;
	}
	i = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (i < 0)
		return failed(ready);
	close(i);
	while (access(stop, F_OK) != 0)
		usleep(10000);
	for (i = 0; i < n; i++) {
		unsigned long long sum = 0;

		for (cpu = 0; cpu < ncpu; cpu++) {
			int fd = fds[i * ncpu + cpu];

			if (fd < 0)
				continue;
			if (read(fd, &count, sizeof(count)) != sizeof(count))
				return failed("read of a breakpoint's count");
			sum += count;
		}
		printf("%s %llu\n", addrs[i], sum);
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc >= 3 && !strcmp(argv[1], "without-cap-sys-module"))
		return without_cap_sys_module(argv + 2);
	if (argc == 6 && !strcmp(argv[1], "fail-nth") && !strcmp(argv[3], "write"))
		return fail_nth(argv[2], argv[3], argv[4], argv[5]);
	if (argc == 5 && !strcmp(argv[1], "fail-nth") && !strcmp(argv[3], "insmod"))
		return fail_nth(argv[2], argv[3], argv[4], NULL);
	if (argc == 8 && !strcmp(argv[1], "fail-sweep")) {
		struct sweep w = { argv[2], argv[3], argv[4], argv[5], argv[6], argv[7] };

		return fail_sweep(&w);
	}
	if (argc == 3 && !strcmp(argv[1], "ring-map"))
		return ring_map(argv[2]);
	if (argc >= 5 && !strcmp(argv[1], "exec-count"))
		return exec_count(argv[2], argv[3], argv + 4, argc - 4);
	if (argc >= 5 && !strcmp(argv[1], "read-loop"))
		return read_loop(argv[2], argv[3], argv + 4, argc - 4);

	for (i = 0; argc == 2 && i < sizeof(probes) / sizeof(probes[0]); i++)
		if (!strcmp(argv[1], probes[i].name))
			return probes[i].run();
	fprintf(stderr, "usage: splice-probe NAME (");
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		fprintf(stderr, "%s%s", i ? " " : "", probes[i].name);
	fprintf(stderr, ")\n");
	return 2;
}
