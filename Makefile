# Keyward - see README.md. `make run` starts a console, `make check` tests it.
CC       ?= gcc
PKGS      = openssl json-c msgpack sqlite3 libpq libargon2 libcurl
CFLAGS_W  = -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wformat=2 -Wvla \
            -Wno-missing-field-initializers -Werror
CFLAGS   ?= -O2 -g
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lldap -llber -lpthread -lm
ALL_CFLAGS = $(CFLAGS_W) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP
SAN_FLAGS  = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined

B        ?= build
# One short line per step; V=1 shows the whole commands.
V        ?= 0
Q         = $(if $(filter 1,$(V)),,@)
say       = $(if $(filter 1,$(V)),,@printf '  %-7s %s\n' $(1) $(2))
SRC      := $(shell find src -name '*.c' | sort)
LIB_SRC  := $(filter-out src/main.c,$(SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

OBJ      := $(SRC:%.c=$(B)/obj/%.o)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
SAN_OBJ  := $(SRC:%.c=$(B)/san/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_OBJ := $(LIB_SRC:%.c=$(B)/fuzz/obj/%.o)
# libFuzzer targets (tests/fuzz): clang, the library instrumented for coverage.
FUZZ_FLAGS = $(SAN_FLAGS)

DATA    ?= ./keyward-data
LISTEN  ?= 127.0.0.1:8443
# Plain HTTP for the public PKI routes (CRLs, OCSP; API.md 7.4); empty: off.
PKI_LISTEN ?= 127.0.0.1:8080
# The URL clients use (tokens' issuer); empty: https://$(LISTEN). Needed with a
# wildcard LISTEN (0.0.0.0:PORT).
PUBLIC_URL ?=

.PHONY: all deps test-deps bench-deps run check unit api api-asan api-pg bench fuzz clean format format-check

all: $(B)/keyward

deps:
	@./scripts/deps.sh build

test-deps:
	@./scripts/deps.sh build test

bench-deps:
	@./scripts/deps.sh build test bench

$(B)/keyward: $(OBJ)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(OBJ) $(PKG_LIBS)

$(B)/asan/keyward: $(SAN_OBJ)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $(SAN_OBJ) $(PKG_LIBS)

$(B)/libkeyward.a: $(LIB_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $(LIB_OBJ)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC-SAN,$<)
	$(Q)$(CC) $(CFLAGS_W) $(SAN_FLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(B)/libkeyward.a
	@mkdir -p $(dir $@)
	$(call say,TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(B)/libkeyward.a $(PKG_LIBS) -lcmocka

# Every fuzz target, each linked against the whole library built for it, so that
# no target's list of sources goes stale: `make fuzz`, then e.g.
# `build/fuzz/fuzz_csr -max_len=70000 -timeout=10 corpus/` (each target's header
# says what it checks and its seeds).
fuzz: $(FUZZ_BIN)

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC-FUZZ,$<)
	$(Q)clang $(CFLAGS_W) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -MMD -MP -c \
	    -o $@ $<

$(B)/fuzz/libkeyward.a: $(FUZZ_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $(FUZZ_OBJ)

$(B)/fuzz/%: tests/fuzz/%.c $(B)/fuzz/libkeyward.a
	$(call say,FUZZ,$@)
	$(Q)clang $(CFLAGS_W) $(FUZZ_FLAGS) -fsanitize=fuzzer -Isrc -Itests/fuzz $(PKG_CFLAGS) \
	    -MMD -MP -o $@ $< $(B)/fuzz/libkeyward.a $(PKG_LIBS)

# Store-level benchmarks (bench/*.c): build against the library, run by hand.
$(B)/bench/%: bench/%.c $(B)/libkeyward.a
	@mkdir -p $(dir $@)
	$(call say,BENCH,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(B)/libkeyward.a $(PKG_LIBS)

# Starts a console on $(LISTEN), and its public PKI routes over plain HTTP on
# $(PKI_LISTEN), with its data in $(DATA); Ctrl-C stops it.
run: deps
	@$(MAKE) --no-print-directory all
	./$(B)/keyward server --listen $(LISTEN) --pki-listen '$(PKI_LISTEN)' --data $(DATA) \
	    $(if $(PUBLIC_URL),--public-url '$(PUBLIC_URL)')

# The build must be warning-free with clang as with gcc; then the unit tests, each
# fuzz target for 3 s (tests/run-fuzz.sh: they still build and find nothing at once), then
# the black-box API suite against the normal build, again against an ASan+UBSan
# build, once more with every server on a throw-away PostgreSQL 15 cluster
# (KEYWARD_STORE=pg; test_pg_cluster.py runs several servers on one database),
# and once with the session's server a pair on one database that every client
# alternates between (pg2, on the ASan+UBSan build: the PostgreSQL driver runs under
# the sanitizers too). The four passes run at once (tests/run-passes.sh;
# KEYWARD_CHECK_JOBS=1 runs them one after another).
check: test-deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory CC=clang B=$(B)/clang $(B)/clang/keyward
	@$(MAKE) --no-print-directory all $(B)/asan/keyward $(UNIT_BIN)
	./tests/run-unit.sh $(UNIT_BIN)
	@$(MAKE) --no-print-directory fuzz
	./tests/run-fuzz.sh 3 $(FUZZ_BIN)
	./tests/run-passes.sh sqlite:$(B)/asan/keyward pg2:$(B)/asan/keyward pg:$(B)/keyward \
	    sqlite:$(B)/keyward

unit: $(UNIT_BIN)
	./tests/run-unit.sh $(UNIT_BIN)

api: $(B)/keyward
	KEYWARD_BIN=$(B)/keyward ./tests/run-api.sh

api-asan: $(B)/asan/keyward
	KEYWARD_BIN=$(B)/asan/keyward ./tests/run-api.sh

api-pg: $(B)/keyward
	KEYWARD_STORE=pg KEYWARD_BIN=$(B)/keyward ./tests/run-api.sh
	KEYWARD_STORE=pg2 KEYWARD_BIN=$(B)/keyward ./tests/run-api.sh

bench: bench-deps
	@$(MAKE) --no-print-directory all
	./bench/run.sh

FORMAT_SRC = $(SRC) $(shell find src -name '*.h') $(wildcard tests/unit/*.c tests/fuzz/*.[ch])

# One style, the committed .clang-format; `make check` refuses code that is not in it.
format:
	clang-format -i $(FORMAT_SRC)

format-check:
	@clang-format --dry-run -Werror $(FORMAT_SRC) || \
	    { echo "keyward: run 'make format' (the style is .clang-format)" >&2; exit 1; }

clean:
	rm -rf $(B)

-include $(OBJ:.o=.d) $(SAN_OBJ:.o=.d) $(UNIT_BIN:%=%.d) $(FUZZ_OBJ:.o=.d) $(FUZZ_BIN:%=%.d)
