// SPDX-License-Identifier: GPL-2.0
/*
 * splice-probe: small programs the guest tests run to reach the code a
 * fix changes and to observe its behaviour, one subcommand each:
 *
 *	splice-probe pipe-fasync	O_ASYNC on and off on a FIFO open for
 *					reading and writing (pipe_fasync())
 *
 * Each prints what it observed on one line and exits 0, or prints the
 * failing call and exits 1; usage errors exit 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static const struct {
	const char *name;
	int (*run)(void);
} probes[] = {
	{ "pipe-fasync", pipe_fasync },
};

int main(int argc, char **argv)
{
	size_t i;

	for (i = 0; argc == 2 && i < sizeof(probes) / sizeof(probes[0]); i++)
		if (!strcmp(argv[1], probes[i].name))
			return probes[i].run();
	fprintf(stderr, "usage: splice-probe NAME (");
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		fprintf(stderr, "%s%s", i ? " " : "", probes[i].name);
	fprintf(stderr, ")\n");
	return 2;
}
