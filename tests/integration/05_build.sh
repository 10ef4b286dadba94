#!/usr/bin/env bash
# The build configuration stamp ($BUILD/config.txt; no root needed): an object
# is rebuilt when what the build detected or its flags change (DPDK present
# or not, liburing, KNI, sanitizer flags), and only then; a build whose libraries are
# missing stops with the fix, before compiling anything.
source "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
obj=$tmp/b/workloads/units.o
# a make of its own: not the flags or jobserver of the make that runs the tests
mk() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory -s BUILD="$tmp/b" "$@" "$obj" >"$tmp/out" 2>&1 ||
         fail "make $*: $(tail -5 "$tmp/out")"; }
stamp() { stat -c %Y.%Z "$obj" 2>/dev/null; }
built() { local a; a=$(stamp); sleep 1.1; mk "$@"; [ "$(stamp)" != "$a" ]; }

mk
grep -q '^cc=.* dpdk=[01] kni=[01] ' "$tmp/b/config.txt" || fail "config stamp lacks dpdk=/kni=: $(cat "$tmp/b/config.txt")"
built && fail "rebuilt with nothing changed"
# flip what was detected: DPDK missing where it is installed, or present where not
if grep -q ' dpdk=1 ' "$tmp/b/config.txt"; then flip=HAVE_DPDK= want=0; else flip=HAVE_DPDK=1 want=1; fi
built $flip || fail "not rebuilt when $flip"
grep -q " dpdk=$want " "$tmp/b/config.txt" || fail "stamp does not say dpdk=$want: $(cat "$tmp/b/config.txt")"
grep -q 'configuration changed' "$tmp/out" || fail "no 'configuration changed' line: $(cat "$tmp/out")"
built $flip && fail "rebuilt twice for one change"
built || fail "not rebuilt when the detected DPDK came back"
built KNI=1 || fail "not rebuilt when KNI= changed"
# the same for liburing (the io_uring driver)
grep -q ' liburing=[01] ' "$tmp/b/config.txt" || fail "config stamp lacks liburing=: $(cat "$tmp/b/config.txt")"
if grep -q ' liburing=1 ' "$tmp/b/config.txt"; then flip=HAVE_LIBURING= want=0; else flip=HAVE_LIBURING=1 want=1; fi
built $flip || fail "not rebuilt when $flip"
grep -q " liburing=$want " "$tmp/b/config.txt" || fail "stamp does not say liburing=$want: $(cat "$tmp/b/config.txt")"
built || fail "not rebuilt when the detected liburing came back"
built EXTRA_CFLAGS=-fsanitize=undefined EXTRA_LDLIBS=-fsanitize=undefined || fail "not rebuilt for sanitizer flags"
built EXTRA_CFLAGS=-fsanitize=undefined EXTRA_LDLIBS=-fsanitize=undefined && fail "rebuilt with the same sanitizer flags"

# missing libraries: a clear error naming the fix, not hundreds of link errors
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory -s BUILD="$tmp/c" PKG_OK= "$tmp/c/workloads/units.o" >"$tmp/out" 2>&1 && fail "built with PKG_OK unset"
grep -q "run 'make deps'" "$tmp/out" || fail "missing-library error does not name make deps: $(cat "$tmp/out")"
[ -e "$tmp/c/workloads/units.o" ] && fail "compiled although the libraries are missing"
echo ok
