# bypassbench — plain Makefile (pkg-config, -Werror, sanitizer build, version stamp).
#
#   make            build bin/bypassbench
#   make deps       install every Debian package the project needs (skips present ones)
#   make run        deps + build + the default suite, results and report
#   make test       deps + build + unit tests + fuzz smoke + integration (root)
#   make asan       ASan+UBSan build into build-asan/ and bin/bypassbench-asan
#   make bench      benchmarks with ratios against named peers (never fails on timing)
#   make fuzz       build the libFuzzer targets (clang)

CC      ?= cc
BUILD   ?= build
BIN     ?= bin/bypassbench
VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)

PKGS    := jansson inih libpcap
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-format-truncation
OPT     ?= -O2 -g
CFLAGS  ?=
ALL_CFLAGS := $(OPT) $(CFLAGS) -std=gnu11 -D_GNU_SOURCE $(WARN) -MMD -MP -I. -Idrivers -Idrivers/ustack -Iworkloads -Iharness \
           -DBB_VERSION='"$(VERSION)"' $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lm -lpthread $(EXTRA_LDLIBS)

# DPDK is optional at build time: without it the dpdk backend is left out of
# the driver tables and `bypassbench doctor` says why. Its headers (and
# -march) apply only to the files that include them.
HAVE_DPDK := $(shell pkg-config --exists libdpdk 2>/dev/null && echo 1)
ifeq ($(HAVE_DPDK),1)
DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk)
ALL_CFLAGS += -DHAVE_DPDK
LDLIBS += $(shell pkg-config --libs libdpdk)
DPDK_OBJS = $(BUILD)/drivers/dpdk.o $(BUILD)/drivers/ustack/netio_dpdk.o $(BUILD)/kni/kni_rte.o $(BUILD)/harness/cli_pdump.o
$(DPDK_OBJS): ALL_CFLAGS += $(DPDK_CFLAGS)
endif

# Library code: everything but harness/main.c. Tests link against it.
LIB_SRCS  := $(wildcard drivers/*.c drivers/ustack/*.c workloads/*.c kni/*.c) $(filter-out harness/main.c,$(wildcard harness/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ  := $(BUILD)/harness/main.o
TEST_SRCS := $(wildcard tests/*/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

DEBIAN_PKGS := build-essential pkg-config libjansson-dev libinih-dev libcriterion-dev \
               libdpdk-dev dpdk dpdk-dev libpcap-dev gnuplot-nox iproute2 \
               wrk nginx-light curl tshark valgrind clang libclang-rt-14-dev procps ethtool python3 iputils-ping

.PHONY: FORCE all deps run test unit integration fuzz fuzz-smoke asan bench clean format
all: $(BIN)

$(BIN): $(MAIN_OBJ) $(BUILD)/libbb.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/libbb.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The version stamp changes with every commit: rebuild what embeds it.
$(BUILD)/version.txt: FORCE
	@mkdir -p $(dir $@)
	@[ "$$(cat $@ 2>/dev/null)" = "$(VERSION)" ] || echo "$(VERSION)" > $@
$(BUILD)/harness/main.o $(BUILD)/harness/sysinfo.o: $(BUILD)/version.txt
$(BUILD)/tests/harness/test_sysinfo: $(BUILD)/version.txt
FORCE:

$(BUILD)/tests/%: tests/%.c $(BUILD)/libbb.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libbb.a $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs criterion)

deps:
	@missing=""; for p in $(DEBIAN_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "deps: need root to install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all $(words $(DEBIAN_PKGS)) packages present"; fi

run: deps all
	./$(BIN) run suites/default.ini

unit: $(TEST_BINS)
	@tests/run-unit.sh $(TEST_BINS)

integration: all
	@tests/run-integration.sh

test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) asan
	$(MAKE) BUILD=build-asan BIN=bin/bypassbench-asan \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  EXTRA_LDLIBS="-fsanitize=address,undefined" unit
	$(MAKE) fuzz-smoke
	$(MAKE) integration

asan:
	$(MAKE) BUILD=build-asan BIN=bin/bypassbench-asan OPT="-O1 -g" \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  EXTRA_LDLIBS="-fsanitize=address,undefined" bin/bypassbench-asan

FUZZ_BINS := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRCS))
fuzz: $(FUZZ_BINS)
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRCS)
	@mkdir -p build-fuzz
	clang -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -Idrivers -Iworkloads -Iharness $(PKG_CFLAGS) \
	  -DBB_VERSION='"$(VERSION)"' -fsanitize=fuzzer,address,undefined -o $@ $< \
	  $(filter-out harness/%,$(LIB_SRCS)) -lm -lpthread

# Each fuzz target runs for a bounded number of inputs: a smoke test, not a campaign.
fuzz-smoke: fuzz
	@for f in $(FUZZ_BINS); do \
	  echo "fuzz: $$f (20000 runs)"; \
	  mkdir -p build-fuzz/corpus-$$(basename $$f); \
	  $$f -runs=20000 -max_len=4096 -seed=1 build-fuzz/corpus-$$(basename $$f) tests/fuzz/corpus/$$(basename $$f) >build-fuzz/$$(basename $$f).log 2>&1 \
	    || { tail -40 build-fuzz/$$(basename $$f).log; exit 1; }; \
	done

$(BUILD)/bench/%: bench/%.c $(BUILD)/libbb.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libbb.a $(LDFLAGS) $(LDLIBS)

bench: deps all $(BUILD)/bench/ustack_ipr $(BUILD)/bench/loadgen_ipr
	bench/bench.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- rte_kni (DESIGN §7) ----------------------------------------------------
# Debian's DPDK 22.11 is built without KNI: `make kni-lib` (root: apt) adds a
# deb-src copy of the Debian entry, fetches Debian's own dpdk source package
# into build/dpdk-src and builds its lib/kni into build/kni/librte_kni.a
# (headers in build/kni/include); `make KNI=1` then compiles the rte_kni
# exception-path backend (kni/kni_rte.c) and links it.
KNI_DIR     := build/kni
KNI_LIB     := $(KNI_DIR)/librte_kni.a
KNI_APT_SRC := /etc/apt/sources.list.d/bypassbench-src.sources
.PHONY: kni-lib
kni-lib: $(KNI_LIB)
$(KNI_APT_SRC):
	sed 's/^Types: deb$$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > $@.tmp && mv $@.tmp $@
	apt-get update -qq
build/dpdk-src/.fetched: | $(KNI_APT_SRC)
	rm -rf build/dpdk-src && mkdir -p build/dpdk-src
	cd build/dpdk-src && apt-get source -qq dpdk >apt-source.log 2>&1 || { tail -20 apt-source.log; exit 1; }
	touch $@
$(KNI_LIB): build/dpdk-src/.fetched
	@mkdir -p $(KNI_DIR)/include
	src=$$(ls -d build/dpdk-src/dpdk-*/ | head -1); \
	cp $$src/lib/kni/rte_kni.h $$src/lib/kni/rte_kni_common.h $(KNI_DIR)/include/ && \
	$(CC) -O2 -g -fPIC $$(pkg-config --cflags libdpdk) -DALLOW_EXPERIMENTAL_API -DALLOW_INTERNAL_API \
	  -I$$src/lib/kni -c -o $(KNI_DIR)/rte_kni_lib.o $$src/lib/kni/rte_kni.c
	ar rcs $@ $(KNI_DIR)/rte_kni_lib.o
# The objects that see HAVE_RTE_KNI are rebuilt when KNI= changes.
$(BUILD)/kni-flag.txt: FORCE
	@mkdir -p $(dir $@)
	@[ "$$(cat $@ 2>/dev/null)" = "$(KNI)" ] || echo "$(KNI)" > $@
$(BUILD)/kni/exc_backend.o $(BUILD)/kni/kni_rte.o: $(BUILD)/kni-flag.txt
ifeq ($(KNI),1)
ALL_CFLAGS += -DHAVE_RTE_KNI -I$(KNI_DIR)/include
LDLIBS := $(abspath $(KNI_LIB)) $(LDLIBS)
$(BUILD)/kni/kni_rte.o: $(KNI_LIB)
endif

# CI compiles and links the rte_kni backend against the library built from
# Debian's source package, and runs the exception-path unit tests in that build.
.PHONY: kni-check
kni-check: kni-lib
	$(MAKE) KNI=1 BUILD=build-kni BIN=build-kni/bypassbench build-kni/bypassbench \
	  build-kni/tests/kni/test_exc_wrap build-kni/tests/kni/test_classify
	build-kni/tests/kni/test_exc_wrap && build-kni/tests/kni/test_classify
	nm build-kni/bypassbench | grep -q ' T rte_kni_alloc' || { echo "kni-check: rte_kni not linked"; exit 1; }
	build-kni/bypassbench doctor | grep 'exception path'

# --- CI regression gates (issue 6; ci/) --------------------------------------
#   make ci-regress  suites/ci.ini into build/ci-results, `bypassbench compare`
#                    against ci/baselines/ci-results (build/ci-report.md,
#                    build/ci-junit.xml), then the instructions-per-request gate;
#                    non-zero on a regression in either (root: namespaces)
#   make baseline    refresh ci/baselines/ (both gates) and record the environment
#   make ipr-gate    only the deterministic gate (callgrind; .ci/run runs it)
.PHONY: ci-regress baseline ipr-gate
# both instruction baselines; exit 1 if either regressed, else 2 if either could not run
IPR_GATE = IPR=$(BUILD)/bench/ustack_ipr BASELINE=ci/baselines/ipr.json ci/ipr_gate.sh; a=$$?; \
	  IPR=$(BUILD)/bench/ustack_ipr BASELINE=ci/baselines/ipr-64.json ci/ipr_gate.sh; b=$$?; \
	  if [ $$a = 1 ] || [ $$b = 1 ]; then g=1; elif [ $$a != 0 ] || [ $$b != 0 ]; then g=2; else g=0; fi
ipr-gate: $(BUILD)/bench/ustack_ipr
	@$(IPR_GATE); exit $$g

ci-regress: all $(BUILD)/bench/ustack_ipr
	@rm -rf $(BUILD)/ci-results
	./$(BIN) run suites/ci.ini --out $(BUILD)/ci-results || echo "ci-regress: some trials failed"
	@run=$$(ls -d $(BUILD)/ci-results/*/ 2>/dev/null | head -1); \
	./$(BIN) compare ci/baselines/ci-results "$${run:-$(BUILD)/ci-results/none}" \
	  --markdown $(BUILD)/ci-report.md --junit $(BUILD)/ci-junit.xml; s=$$?; \
	$(IPR_GATE); \
	echo "ci-regress: compare exit $$s, ipr-gate exit $$g (report: $(BUILD)/ci-report.md)"; \
	[ $$s = 0 ] && [ $$g = 0 ]

baseline: all $(BUILD)/bench/ustack_ipr
	BB=$(BIN) IPR=$(BUILD)/bench/ustack_ipr OUT=$(BUILD)/ci-baseline ci/baseline.sh
