/*
 * fs/handshake.h - the FUSE INIT exchange, answered before the loop.
 *
 * libfuse 3.14 never passes FUSE_PARALLEL_DIROPS to the kernel, whatever
 * the filesystem asks for (libfuse 3.16 fixed it), and the kernel then
 * sends one lookup at a time per directory: sixteen profiles read at once
 * in users/ wait for each other's request to the API.  handshake_answer()
 * lets libfuse answer INIT as usual, and hands its reply on to the kernel
 * with that flag when the kernel offered it.  (fs_init asks for it too,
 * for the libfuse versions that pass it on.)  Lookups and readdir are
 * thread-safe; the kernel still serializes changes to a directory.
 */
#ifndef CLERKFS_FS_HANDSHAKE_H
#define CLERKFS_FS_HANDSHAKE_H

#include <fuse_lowlevel.h>

/*
 * Reads the kernel's INIT request from the mounted session and answers
 * it.  Call once, after fuse_session_mount and before the session loop,
 * while no other thread uses the session.  Returns 0, or a negative errno
 * when the session cannot go on.
 */
int handshake_answer(struct fuse_session *se);

#endif
