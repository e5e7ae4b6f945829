/*
 * fs/handshake.c - the INIT exchange with the parallel lookups flag; see
 * handshake.h.
 */
#include "fs/handshake.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "api/log.h"

/* Room for libfuse's INIT reply, whatever its protocol minor. */
#define REPLY_MAX 1024

/* Whether buf is an INIT request offering parallel lookups. */
static bool offers_parallel_dirops(const struct fuse_buf *buf)
{
	const struct fuse_in_header *in = buf->mem;
	const struct fuse_init_in *init = (const void *)(in + 1);

	if (buf->size < sizeof(*in) + offsetof(struct fuse_init_in, flags) +
			sizeof(init->flags) || in->opcode != FUSE_INIT)
		return false;
	return init->flags & FUSE_PARALLEL_DIROPS;
}

/*
 * Lets libfuse process buf with its replies going into a pipe put in the
 * device's place (the same descriptor number), and reads them back into
 * reply.  Returns their length, or a negative errno; either way the
 * device descriptor is as it was.
 */
static ssize_t process_into(struct fuse_session *se,
			    const struct fuse_buf *buf, char *reply,
			    size_t size)
{
	int dev = fuse_session_fd(se);
	int saved = dup(dev);
	int pipefd[2], err = 0;
	ssize_t n;

	if (saved < 0)
		return -errno;
	/* Non-blocking, so that a reply that went elsewhere is no hang. */
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		err = -errno;
		close(saved);
		return err;
	}
	if (dup2(pipefd[1], dev) < 0)
		err = -errno;
	else
		fuse_session_process_buf(se, buf);
	if (dup2(saved, dev) < 0 && !err)
		err = -errno;
	close(saved);
	close(pipefd[1]);
	n = err ? err : read(pipefd[0], reply, size);
	if (n < 0 && !err)
		n = -errno;
	close(pipefd[0]);
	return n;
}

/* Adds the flag to a successful INIT reply that lacks it. */
static void add_parallel_dirops(char *reply, size_t len)
{
	struct fuse_out_header *out = (void *)reply;
	struct fuse_init_out *init = (void *)(out + 1);

	if (len < sizeof(*out) + offsetof(struct fuse_init_out, flags) +
		  sizeof(init->flags) || out->error != 0)
		return;
	if (init->flags & FUSE_PARALLEL_DIROPS)
		return;
	init->flags |= FUSE_PARALLEL_DIROPS;
	log_debug("INIT: lookups may run in parallel");
}

int handshake_answer(struct fuse_session *se)
{
	struct fuse_buf buf = { 0 };
	char reply[REPLY_MAX];
	ssize_t len;
	int ret;

	ret = fuse_session_receive_buf(se, &buf);
	if (ret <= 0) {
		free(buf.mem);
		return ret < 0 ? ret : -ENODEV;
	}
	if (!offers_parallel_dirops(&buf)) {
		fuse_session_process_buf(se, &buf);
		free(buf.mem);
		return 0;
	}

	len = process_into(se, &buf, reply, sizeof(reply));
	free(buf.mem);
	if (len < 0) {
		log_error("INIT: cannot answer the kernel: %s", strerror(-len));
		return (int)len;
	}
	add_parallel_dirops(reply, (size_t)len);
	if (write(fuse_session_fd(se), reply, (size_t)len) != len) {
		log_error("INIT: cannot answer the kernel: %s",
			  strerror(errno));
		return -EIO;
	}
	return 0;
}
