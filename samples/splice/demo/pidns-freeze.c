// SPDX-License-Identifier: GPL-2.0
/*
 * Reproducer of the bug that "pid_namespace: make zap_pid_ns_processes()
 * freezable" (Linux 7.2.13) fixes.
 *
 * When the init of a PID namespace exits while a task of the namespace is a
 * zombie whose parent lives outside it, init waits in zap_pid_ns_processes()
 * until that parent reaps the zombie. Linux 7.2.12 waits in
 * TASK_INTERRUPTIBLE, which the freezer cannot freeze: it wakes the task with
 * a fake signal instead, and since the task never returns to user space the
 * signal stays pending, the wait no longer sleeps and the task spins on a
 * CPU. Freezing user space (suspend, hibernation) fails, and after the
 * attempt the task burns a CPU until the zombie is reaped. 7.2.13 waits in
 * TASK_IDLE | TASK_FREEZABLE: the freezer freezes it and it stays asleep.
 *
 *   pidns-freeze            show the behaviour; exit 0 if fixed, 1 if buggy,
 *                           2 if the test could not be set up
 *   pidns-freeze hold       the same, then keep the zombie (and a buggy init
 *                           spinning in zap_pid_ns_processes()) until
 *                           SIGTERM
 *   pidns-freeze workload   create and tear down PID namespaces in a loop
 *                           (each exit runs zap_pid_ns_processes()) until
 *                           killed; prints the count on SIGTERM
 *
 * It freezes user space with the suspend test mode (/sys/power/pm_test
 * "freezer", state "freeze"), which freezes and thaws tasks without
 * suspending anything. Needs root, CONFIG_PID_NS, CONFIG_SUSPEND and
 * CONFIG_PM_DEBUG.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* State letter and CPU time (utime + stime, in clock ticks) of @pid. */
static int task_stat(pid_t pid, char *state, unsigned long long *ticks)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	p = strrchr(buf, ')');	/* comm may hold spaces */
	if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 state, &utime, &stime) != 3)
		return -1;
	*ticks = utime + stime;
	return 0;
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* Each round: a PID namespace whose init exits at once. */
static int workload(void)
{
	unsigned long rounds = 0;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	while (!stop) {
		pid_t pid = fork();

		if (pid < 0)
			return 2;
		if (pid == 0) {
			if (unshare(CLONE_NEWPID))
				_exit(2);
			pid = fork();
			if (pid == 0)
				_exit(0);	/* init of the namespace */
			_exit(pid < 0 || waitpid(pid, NULL, 0) != pid);
		}
		waitpid(pid, NULL, 0);
		rounds++;
	}
	printf("workload: %lu PID namespaces created and torn down\n", rounds);
	return 0;
}

int main(int argc, char **argv)
{
	char state = '?', saved_test[64] = "none", saved_timeout[32] = "20000";
	char wchan[128] = "";
	unsigned long long t0, t1;
	int go[2], i, freeze_err, buggy, hold;
	long hz = sysconf(_SC_CLK_TCK);
	pid_t init, zombie;
	siginfo_t si;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1 && !strcmp(argv[1], "workload"))
		return workload();
	hold = argc > 1 && !strcmp(argv[1], "hold");
	signal(SIGTERM, on_term);

	if (pipe(go) || unshare(CLONE_NEWPID)) {
		perror("pidns-freeze: setting up a PID namespace");
		return 2;
	}
	init = fork();
	if (init == 0) {		/* pid 1 of the new namespace */
		char c;

		close(go[1]);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(go[0]);
	zombie = fork();		/* in the namespace, our child */
	if (zombie == 0)
		_exit(0);
	if (init < 0 || zombie < 0 ||
	    waitid(P_PID, zombie, &si, WEXITED | WNOWAIT)) {
		perror("pidns-freeze: fork");
		return 2;
	}
	printf("PID namespace: init is pid %d, zombie pid %d (not reaped yet)\n", init, zombie);

	/* init exits and waits in zap_pid_ns_processes() for the zombie to go. */
	close(go[1]);
	for (i = 0; i < 200; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/wchan", init);
		if (!read_file(path, wchan, sizeof(wchan)) &&
		    !strcmp(wchan, "zap_pid_ns_processes"))
			break;
		msleep(10);
	}
	if (strcmp(wchan, "zap_pid_ns_processes")) {
		fprintf(stderr, "pidns-freeze: init did not reach zap_pid_ns_processes (wchan '%s')\n",
			wchan);
		return 2;
	}
	task_stat(init, &state, &t0);
	printf("exiting init waits in %s, state %c\n", wchan, state);

	/* Freeze user space as a suspend would, and thaw it. */
	read_file("/sys/power/pm_test", saved_test, sizeof(saved_test));
	read_file("/sys/power/pm_freeze_timeout", saved_timeout, sizeof(saved_timeout));
	if (write_file("/sys/power/pm_test", "freezer") ||
	    write_file("/sys/power/pm_freeze_timeout", "1000") ||
	    write_file("/sys/module/suspend/parameters/pm_test_delay", "0")) {
		perror("pidns-freeze: /sys/power (needs root, CONFIG_SUSPEND, CONFIG_PM_DEBUG)");
		return 2;
	}
	freeze_err = write_file("/sys/power/state", "freeze");
	write_file("/sys/power/pm_freeze_timeout", saved_timeout);
	write_file("/sys/power/pm_test", "none");
	if (freeze_err)
		printf("freezing user space: FAILED (%s): a task refused to freeze\n",
		       strerror(-freeze_err));
	else
		printf("freezing user space: ok (all tasks froze and thawed)\n");

	task_stat(init, &state, &t0);
	msleep(1000);
	task_stat(init, &state, &t1);
	printf("exiting init over the next second: state %c, %llu ms of CPU\n",
	       state, (t1 - t0) * 1000 / hz);
	buggy = freeze_err || (t1 - t0) * 1000 / hz > 200;

	if (hold) {
		printf("holding: init pid %d stays in zap_pid_ns_processes until SIGTERM\n", init);
		while (!stop)
			pause();
	}

	/* Reap the zombie: init finishes exiting. */
	waitpid(zombie, NULL, 0);
	waitpid(init, NULL, 0);
	printf("%s\n", buggy ?
	       "BUGGY: the exiting init cannot be frozen and spins" :
	       "FIXED: the exiting init freezes and sleeps");
	return buggy ? 1 : 0;
}
