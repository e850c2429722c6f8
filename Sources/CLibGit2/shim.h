#ifndef REPOWATCH_CLIBGIT2_SHIM_H
#define REPOWATCH_CLIBGIT2_SHIM_H

#include <git2.h>

/* git_libgit2_opts() is variadic and Swift does not import C variadic functions: wrap each option used. */

/** Turns libgit2's own checks of every object read (hash verification) off or on. */
static inline int repowatch_git_set_strict_hash_verification(int enabled) {
    return git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, enabled);
}

/** Sets the size of libgit2's object cache, in bytes, shared by all repositories in the process. */
static inline int repowatch_git_set_cache_max_size(ssize_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, bytes);
}

/** Sets the largest object of a type that is cached. */
static inline int repowatch_git_set_cache_object_limit(git_object_t type, size_t size) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, type, size);
}

/** Makes libgit2 ignore the system, XDG and global configuration files (search paths set to empty). */
static inline int repowatch_git_clear_config_search_paths(void) {
    int rc = git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, "");
    if (rc == 0) rc = git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, "");
    if (rc == 0) rc = git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, "");
    if (rc == 0) rc = git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_PROGRAMDATA, "");
    return rc;
}

#endif
