/*
 * fs/fs.h - the clerkfs tree: its context, its nodes, and the operations
 * the FUSE glue (fs/ops.c) calls.
 *
 * Every name the kernel has looked up is a node, numbered by its inode.
 * A node knows what it stands for (a kind, and the ids of the objects it
 * is about), never the objects themselves: their content comes from the
 * cache at each operation, so a node never holds stale data.
 */
#ifndef CLERKFS_FS_FS_H
#define CLERKFS_FS_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <glib.h>

#include "api/api.h"
#include "cache/cache.h"
#include "cache/objects.h"

#include <fuse_lowlevel.h>

enum node_kind {
	NODE_ROOT,
	NODE_USERS,		/* users/ */
	NODE_USER,		/* users/<id or alias>/ */
	NODE_USER_FILE,		/* users/<id>/profile.json, banned, ... */
	NODE_USER_LINK,		/* users/<id>/email_addresses, sessions */
	NODE_USER_ORGS,		/* users/<id>/organizations/ */
	NODE_USER_ORG_LINK,	/* users/<id>/organizations/<org id> */
	NODE_ORGS,		/* orgs/ */
	NODE_ORG,		/* orgs/<id or slug>/ */
	NODE_ORG_FILE,		/* orgs/<id>/organization.json, ... */
	NODE_ORG_LINK,		/* orgs/<id>/members */
	NODE_MEMBERS,		/* members/ */
	NODE_MEMBERS_ORG,	/* members/<org id>/ */
	NODE_MEMBER,		/* members/<org id>/<user id> */
	NODE_EMAILS,		/* email_addresses/ */
	NODE_EMAILS_USER,	/* email_addresses/<user id>/ */
	NODE_EMAIL,		/* email_addresses/<user id>/<address> */
	NODE_SESSIONS,		/* sessions/ */
	NODE_SESSIONS_USER,	/* sessions/<user id>/ */
	NODE_SESSION,		/* sessions/<user id>/<id>.json, sessions/<id>.json */
	NODE_SEARCH,		/* search/ */
	NODE_SEARCH_RES,	/* search/users/, orgs/, sessions/ */
	NODE_SEARCH_QUERY,	/* search/<resource>/<query>/ */
	NODE_SEARCH_FILE,	/* results.csv, results.json, ... */
	NODE_META,		/* .clerkfs/ */
	NODE_META_FILE,		/* .clerkfs/stats, errors */
	NODE_SCRATCH,		/* an editor's file in an object directory */
	NODE_PENDING,		/* a file being written to create an object */
};

/* Attribute files, by name. */
enum attr {
	ATTR_NONE,
	ATTR_PROFILE,		/* profile.json */
	ATTR_ORGANIZATION,	/* organization.json */
	ATTR_PUBLIC,		/* public_metadata.json */
	ATTR_PRIVATE,		/* private_metadata.json */
	ATTR_UNSAFE,		/* unsafe_metadata.json */
	ATTR_BANNED,
	ATTR_LOCKED,
	ATTR_LINK_EMAILS,	/* email_addresses -> */
	ATTR_LINK_SESSIONS,	/* sessions -> */
	ATTR_LINK_MEMBERS,	/* members -> */
	ATTR_STATS,
	ATTR_ERRORS,
	ATTR_RESULTS_CSV,	/* results.csv */
	ATTR_RESULTS_JSON,	/* results.json */
	ATTR_RESULTS_NDJSON,	/* results.ndjson */
	ATTR_FIRST,		/* first.json */
	ATTR_COUNT,		/* count */
};

/*
 * A node.  Everything but nlookup and refs is set at creation and never
 * changes, so a referenced node may be read without the table's lock.
 */
struct node {
	fuse_ino_t ino;
	fuse_ino_t parent;
	uint64_t nlookup;	/* the kernel's references */
	int refs;		/* the table's and the operations' */
	enum node_kind kind;
	enum attr attr;
	char *name;		/* name within the parent */
	char *id;		/* the user, org or session it is about */
	char *sub;		/* the member's user id, the address's id */
};

/* What a lookup found: a node to be, before it has a number. */
struct node_spec {
	enum node_kind kind;
	enum attr attr;
	char *id;		/* owned; freed by node_spec_clear */
	char *sub;
};

struct fs_options {
	double cache_ttl;
	double negative_ttl;
	size_t cache_max;
	bool read_only;
	bool allow_delete;
	bool csv_bom;
	int page_size;
};

struct clerkfs {
	struct api *api;
	struct cache *cache;
	struct objects objects;
	struct fs_options opts;
	struct fuse_session *se;
	uid_t uid;
	gid_t gid;
	struct timespec mounted;

	GMutex nodes_lock;
	GHashTable *by_ino;	/* ino -> struct node* */
	GHashTable *by_name;	/* "parent/name" -> struct node* */
	GHashTable *by_id;	/* object id -> GPtrArray of struct node* */
	fuse_ino_t next_ino;

	GMutex errors_lock;
	GQueue errors;		/* recent refusals, strings, newest last */

	struct search_state *search;	/* fs/search.c */
	struct scratch_state *scratch;	/* fs/scratch.c */
	struct notify_state *notify;	/* fs/notify.c */

	GMutex dirty_lock;
	GHashTable *dirty;	/* ino -> struct open_file* with unsaved bytes */

	GMutex clocks_lock;
	GHashTable *clocks;	/* user id -> its lock's clock (fs/clock.c) */
};

/* ---- nodes (fs/nodes.c) ---- */
void nodes_init(struct clerkfs *fs);
void nodes_release(struct clerkfs *fs);
/* The node for ino with a reference, or NULL. */
struct node *nodes_get(struct clerkfs *fs, fuse_ino_t ino);
void nodes_put(struct clerkfs *fs, struct node *node);
/*
 * The node named name in parent, made from spec when new or when the
 * existing one stands for something else; counts one kernel lookup and
 * returns it with a reference.  spec's strings are copied.
 */
struct node *nodes_add(struct clerkfs *fs, fuse_ino_t parent,
		       const char *name, const struct node_spec *spec);
void nodes_forget(struct clerkfs *fs, fuse_ino_t ino, uint64_t n);
/*
 * Makes ino stand for what spec says, under name in parent (a scratch file
 * renamed over an attribute becomes that attribute).
 */
void nodes_rebind(struct clerkfs *fs, fuse_ino_t ino, fuse_ino_t parent,
		  const char *name, const struct node_spec *spec);
/* The inodes of every node about object id; caller frees the array. */
GArray *nodes_of_object(struct clerkfs *fs, const char *id);
/* The inode known for name in parent, or 0. */
fuse_ino_t nodes_ino_of(struct clerkfs *fs, fuse_ino_t parent,
			const char *name);
/* Forgets the name in parent (the object it named is gone). */
void nodes_unname(struct clerkfs *fs, fuse_ino_t parent, const char *name);
/* The node's path from the mount's root, for logs; caller frees. */
char *nodes_path(struct clerkfs *fs, const struct node *node);
void node_spec_clear(struct node_spec *spec);

/* ---- the tree (fs/tree.c) ---- */

/* One directory entry of a listing. */
struct dir_entry {
	char *name;
	mode_t type;		/* S_IFDIR, S_IFREG, S_IFLNK */
};

/* What the child called name of dir is; 0 or a negative errno. */
int tree_lookup(struct clerkfs *fs, const struct node *dir,
		const char *name, struct node_spec *spec);
/* Appends dir's entries (without . and ..) to entries. */
int tree_list(struct clerkfs *fs, const struct node *dir,
	      GPtrArray *entries);
/* Fills st and the number of seconds it stays valid. */
int tree_attr(struct clerkfs *fs, const struct node *node, struct stat *st,
	      double *ttl);
/* The bytes of a file; *content is the caller's to free. */
int tree_read(struct clerkfs *fs, const struct node *node, GString **content);
/* The target of a symbolic link; caller frees. */
int tree_readlink(struct clerkfs *fs, const struct node *node, char **target);
void dir_entry_free(gpointer entry);
/* Whether directories of this kind hold scratch files. */
bool scratch_dir_key_kind(enum node_kind kind);
/*
 * The scratch key under which files being written to create objects in
 * dir are kept ("new-user", "new-member/<org id>", ...), or NULL.
 */
char *tree_pending_key(const struct node *dir);
/* Whether an attribute file of this kind can be written. */
bool tree_is_writable(const struct node *node);

/* ---- errors (fs/errors.c) ---- */

/*
 * Records a refused operation: one log line and one line appended to
 * .clerkfs/errors, with the path, the errno's name and the reason.
 */
void fs_refuse(struct clerkfs *fs, const char *path, int err,
	       const char *reason);
void fs_errors_format(struct clerkfs *fs, GString *out);
void fs_stats_format(struct clerkfs *fs, GString *out);

/* ---- FUSE (fs/ops.c) ---- */
extern const struct fuse_lowlevel_ops fs_ops;

#endif
