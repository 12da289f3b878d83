# policy-tools: four Unix filters over one library.
#
#   make                 build bin/policy-*
#   make check           unit, CLI and bad-input tests, then the same suite
#                        again under AddressSanitizer + UndefinedBehaviorSanitizer,
#                        then the fuzzers' committed inputs (make fuzz-regress)
#   make demo            the main job end to end on generated data
#   make report          the paper's experiments as report/index.html, with
#                        tables and figures (gnuplot, Graphviz, jq);
#                        REPORT_SIZE=tiny (CI, about a minute), small
#                        (default, about 10 minutes) or full (the paper's
#                        sizes)
#   make fuzz            build the libFuzzer harnesses (tests/fuzz/) with
#                        clang, ASan and UBSan into build/fuzz, and fuzz each
#                        target for FUZZ_SECONDS (default 60) from a copy of
#                        its seeds (testdata/fuzz/TARGET); fails on a crash,
#                        hang or leak.  FUZZ_TARGETS="csv frames" picks targets
#   make fuzz-regress    run each harness once over its committed inputs
#                        (part of make check; skipped without libFuzzer)
#   make install PREFIX=/usr/local DESTDIR=
#
# Objects go to $(O); programs to $(BINDIR).  The sanitizer run uses its own
# $(O) and $(BINDIR), so it never mixes objects with the normal build; so
# does the fuzzing build (build/fuzz).

PREFIX  ?= /usr/local
DESTDIR ?=
O       ?= build/release
BINDIR  ?= bin

CC      ?= cc
CFLAGS  ?= -O2 -g
# -ffp-contract=off: no fused multiply-add, so every backend computes the
# same bits as the row-at-a-time reference (DESIGN 3.5).
PT_CFLAGS = -std=c11 -Wall -Wextra -Werror -ffp-contract=off -fno-fast-math \
            -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Ilib -Icmd/fe -MMD -MP
LDLIBS  = -lcsv -lzstd -lz -lyaml -lxxhash -lm -pthread

PROGS    = $(patsubst cmd/%.c,$(BINDIR)/%,$(wildcard cmd/*.c))
LIB_SRC  = $(wildcard lib/*.c)
LIB_OBJ  = $(patsubst %.c,$(O)/%.o,$(LIB_SRC))
LIB_A    = $(O)/libpolicy.a
FE_OBJ   = $(patsubst %.c,$(O)/%.o,$(wildcard cmd/fe/*.c))
UNIT_SRC = $(wildcard tests/unit/*.c)
UNITS    = $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
# Pages by section: programs (1), file formats (5), the shared conventions
# (7); install puts each in share/man/man<section>.
MAN      = $(wildcard man/*.1 man/*.5 man/*.7)

SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=all

# libFuzzer harnesses: tests/fuzz/TARGET.c, seeds in testdata/fuzz/TARGET.
FUZZ_TARGETS = csv evalp forest frames manifest model number partial pforest rfit \
               signature tree
FUZZ_SECONDS ?= 60
# Small buffers, so that inputs of a few KB cross them: CSV read blocks
# (PT_CSV_BLOCK), the frame reader's buffer and the size past which a
# frame skips it (PT_FRAME_RBUF, PT_FRAME_BIG).
FUZZ_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=all -fsanitize=fuzzer-no-link \
             -DPT_CSV_BLOCK=4096 -DPT_FRAME_RBUF=1024 -DPT_FRAME_BIG=2048
FUZZ_HARNESSES = $(patsubst %,$(BINDIR)/fuzz-%,$(FUZZ_TARGETS))
# Whether clang links a libFuzzer program (Debian: libclang-rt-N-dev).
FUZZ_PROBE = printf 'int LLVMFuzzerTestOneInput(const char *d, long n)\
  { return 0; }\n' | clang -x c -fsanitize=fuzzer,address,undefined \
  -o /dev/null - 2>/dev/null

.PHONY: all deps check test test-asan demo report install uninstall clean bench \
        fuzz fuzz-regress fuzz-build
all: $(PROGS) $(UNITS)

# The build's name in --version (scripts/build-id): a commit, or a hash of
# the sources outside git.  Only opt.o sees it; $(O)/build-id changes when
# it does, so that opt.o is rebuilt.
BUILD_ID := $(shell sh scripts/build-id)
$(O)/cmd/fe/opt.o: PT_CFLAGS += -DPT_BUILD_ID='"$(BUILD_ID)"'
$(O)/cmd/fe/opt.o: $(O)/build-id
$(O)/build-id: FORCE
	@mkdir -p $(O)
	@echo '$(BUILD_ID)' | cmp -s - $@ || echo '$(BUILD_ID)' > $@
FORCE:

deps:
	@sh scripts/deps

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(PT_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/%: $(O)/cmd/%.o $(FE_OBJ) $(LIB_A)
	@mkdir -p $(BINDIR)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(FE_OBJ) $(LIB_A) $(LDLIBS)

# t-nomem fails the allocations it chooses, through the linker's --wrap.
$(O)/tests/t-nomem: UNIT_LDFLAGS = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc

$(O)/tests/%: $(O)/tests/unit/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $(UNIT_LDFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

# The suite: C unit tests (TAP) and shell tests (tests/*.t, TAP) under prove.
test: $(PROGS) $(UNITS)
	$(if $(PT_SANITIZE),PT_SANITIZE=$(PT_SANITIZE)) PT_O=$(O) PT_BIN=$(abspath $(BINDIR)) PT_UNIT=$(abspath $(O)/tests) PT_TOP=$(CURDIR) \
	  prove -f $(UNITS) tests/*.t

# The sanitizer pass builds with clang when clang can link a sanitized
# program, so a check exercises both compilers (the normal pass uses $(CC)).
test-asan:
	@san_cc=$$(printf 'int main(void){return 0;}\n' | \
	  clang -x c -fsanitize=address,undefined -o /dev/null - 2>/dev/null \
	  && echo clang || echo $(CC)); \
	echo "sanitizer build with $$san_cc"; \
	$(MAKE) CC=$$san_cc O=build/asan BINDIR=build/asan/bin CFLAGS="$(SAN_FLAGS)" \
	  LDFLAGS="-fsanitize=address,undefined" PT_SANITIZE=1 test

check: deps
	$(MAKE) test
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(MAKE) test-asan
	$(MAKE) fuzz-regress

# The harnesses link with -fsanitize=fuzzer (libFuzzer's main); the
# library and harness objects are built for it (fuzzer-no-link) in their
# own $(O).
fuzz-build: $(FUZZ_HARNESSES)
.SECONDARY: $(patsubst %,$(O)/tests/fuzz/%.o,fuzz $(FUZZ_TARGETS))

$(BINDIR)/fuzz-%: $(O)/tests/fuzz/%.o $(O)/tests/fuzz/fuzz.o $(LIB_A)
	@mkdir -p $(BINDIR)
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

FUZZ_MAKE = $(MAKE) CC=clang O=build/fuzz BINDIR=build/fuzz/bin \
	CFLAGS="$(FUZZ_FLAGS)" LDFLAGS= fuzz-build

fuzz: deps
	@$(FUZZ_PROBE) || { echo "fuzz: clang cannot link libFuzzer" \
	  "(Debian: apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
	$(FUZZ_MAKE)
	sh scripts/fuzz-run --seconds $(FUZZ_SECONDS) build/fuzz/bin $(FUZZ_TARGETS)

fuzz-regress:
	@if $(FUZZ_PROBE); then \
	  $(FUZZ_MAKE) && \
	  sh scripts/fuzz-run --regress build/fuzz/bin $(FUZZ_TARGETS); \
	else echo "fuzz-regress: skipped: clang cannot link libFuzzer"; fi

demo: deps
	$(MAKE) all
	sh scripts/demo

REPORT_SIZE ?= small
report: deps
	$(MAKE) all
	sh scripts/report --size $(REPORT_SIZE)

bench: all
	sh scripts/bench-prep

install: $(PROGS)
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	         $(DESTDIR)$(PREFIX)/share/man/man5 \
	         $(DESTDIR)$(PREFIX)/share/man/man7
	cp $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	for m in $(MAN); do \
	  s=$${m##*.}; cp $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(PREFIX)/bin/$${p##*/}; done
	for m in $(MAN); do s=$${m##*.}; \
	  rm -f $(DESTDIR)$(PREFIX)/share/man/man$$s/$${m##*/}; done

clean:
	rm -rf build bin report

-include $(shell find build -name '*.d' 2>/dev/null)
