# Sourced by scripts/engine-toolchain.sh and scripts/cluster-toolchain.sh.
#
# One Go build at a time per cache folder: two multi-gigabyte builds on one small machine run one after
# the other, and parallel test workers wait for one build, then reuse it. The lock is taken only when
# something is about to be built, so a run that finds everything cached never waits, even while the
# other toolchain is being built. A run that had to wait starts over, because the build it waited for
# may have produced what this one was about to build.
#
# Needs: CACHE (the cache folder), BUILD_LOCK_SCRIPT (the script to start over) and BUILD_LOCK_ARGS
# (its arguments, an array), and a `log` function. Call `build_lock` in the main shell (never in a
# subshell: the lock is held by file descriptor 9 of the process that takes it).
build_lock_held=""
build_lock() {
    [ -n "$build_lock_held" ] && return 0
    exec 9>"$CACHE/.lock"
    if ! flock -n 9; then
        log "another build holds $CACHE/.lock; waiting for it"
        flock 9
        exec 9>&-
        log "that build ended; looking at the cache again"
        exec bash "$BUILD_LOCK_SCRIPT" "${BUILD_LOCK_ARGS[@]}"
    fi
    build_lock_held=1
}
