/* targets.h - what a discovery scans: its targets, excludes and ports (API.md 7.5).
 *
 * Pure parsing and arithmetic: no I/O, no threads, no name resolution. The
 * attributes of a `discoveries` object are parsed once into a `struct target_set`
 * whose address-and-port pairs are counted exactly (to enforce the setting
 * `discovery_max_pairs`) and walked in one fixed order by a cursor that can
 * resume from a checkpoint without replaying what came before.
 *
 * Addresses are 16 bytes, IPv4 as IPv4-mapped IPv6 (core/net.h). A target, an
 * exclude or a range never has host bits set: "10.0.0.5/24" is refused (with the
 * network it probably meant in the message) rather than silently widened.
 *
 * The order of the pairs, fixed so that a position is a checkpoint: target by
 * target as given, within a target address by address ascending (excluded
 * addresses skipped), within an address port by port ascending. A host name
 * counts as one address whatever it resolves to; excludes apply to names only
 * when the caller checks the resolved addresses (target_set_excluded).
 * Overlapping targets ("10.0.0.0/24" and "10.0.0.5") are counted and walked once
 * each, as given. Ports are sorted and merged: duplicates and overlaps count once.
 *
 * A built set is read-only: several threads may read it and walk it at once,
 * each with its own cursor.
 */
#ifndef KW_DISCOVERY_TARGETS_H
#define KW_DISCOVERY_TARGETS_H

#include "../core/arena.h"
#include "../core/base.h"
#include "../core/net.h"

#define TARGETS_MAX     4096 /* entries of `targets` */
#define EXCLUDES_MAX    4096 /* entries of `excludes` */
#define PORTS_MAX       1024 /* entries of `ports`, before merging */
#define TARGET_NAME_MAX 253  /* a host name's length, without a trailing dot */

/* One entry of `targets`. */
struct target {
    bool        is_name;                   /* a host name, resolved at run time */
    char        name[TARGET_NAME_MAX + 1]; /* when is_name: lowercased, NUL-terminated */
    struct cidr range;                     /* otherwise: an address (/32, /128) or range */
};

/* Ports lo..hi, both included, 1 <= lo <= hi <= 65535. */
struct port_range {
    uint16_t lo, hi;
};

/* A parsed discovery. Arrays live in the arena given to target_set_build. */
struct target_set {
    struct target     *targets; /* as given, in order */
    size_t             ntargets;
    struct cidr       *excludes; /* sorted by address; none inside another, so disjoint */
    size_t             nexcludes;
    struct port_range *ports; /* sorted, merged: disjoint and not adjacent */
    size_t             nports;
    uint64_t           nports_total; /* distinct ports */
};

/* One item of `targets`: an RFC 1123 host name (labels of 1-63 letters, digits
 * and '-', not starting or ending with '-', at most 253 characters, one trailing
 * dot allowed and dropped, the last label not all digits, stored lowercased), an
 * IPv4 or IPv6 address (IPv6 without brackets or zone), or a CIDR range of either
 * with no host bits set. E_VALIDATION with the reason in `eb` (no attribute). */
int target_parse(struct str s, struct target *out, struct errbuf *eb);
/* Why `s` (without a trailing dot) is not an RFC 1123 host name, or NULL. */
const char *target_name_check(struct str s);

/* One item of `excludes`: a CIDR range or a bare address, as target_parse
 * takes them (no host names). E_VALIDATION with the reason in `eb`. */
int exclude_parse(struct str s, struct cidr *out, struct errbuf *eb);

/* One item of `ports`: "443" or "8443-8450"; decimal digits only (no sign, no
 * space, no leading zero), 1..65535, lo <= hi. E_VALIDATION with the reason. */
int port_parse(struct str s, struct port_range *out, struct errbuf *eb);

/* Parse a discovery's three lists into *out (arrays allocated in `a`). Every
 * failure is E_VALIDATION with the attribute ("targets", "excludes", "ports")
 * and a message naming the item by index and (printable, truncated) value:
 * an item the parsers above refuse, no targets, no ports (the caller applies
 * the default ["443"] first), more than TARGETS_MAX, EXCLUDES_MAX or PORTS_MAX
 * items, and more pairs than `max_pairs` (attribute "targets"). On that last
 * failure *out is complete (target_set_pairs tells by how much); on the others
 * it holds what was parsed before the bad item. */
int target_set_build(struct arena *a, const struct str *targets, size_t nt,
                     const struct str *excludes, size_t ne, const struct str *ports, size_t np,
                     uint64_t max_pairs, struct target_set *out, struct errbuf *eb);

/* The address-and-port pairs of the set: for each target its addresses not
 * excluded (a name counts as 1), summed, times the distinct ports. Exact, or
 * UINT64_MAX when the true count is that or more ("::/0" has 2^128 addresses). */
uint64_t target_set_pairs(const struct target_set *s);

/* The pairs of target i alone (same rules, same saturation). */
uint64_t target_set_target_pairs(const struct target_set *s, size_t i);

/* True when `addr` is inside one of the excludes (O(log nexcludes)). The caller
 * also checks the addresses a host name resolves to. */
bool target_set_excluded(const struct target_set *s, const unsigned char addr[16]);

/* A 128-bit address as two words; here only so a cursor can live on the stack. */
struct target_u128 {
    uint64_t hi, lo;
};

/* A position in the order above. Plain data: copy it, drop it, nothing to free.
 * It reads the set, which must outlive it and not change. */
struct target_cursor {
    const struct target_set *set;
    uint64_t                 pos;  /* pairs before the next one (the checkpoint) */
    bool                     done; /* no more pairs */
    size_t                   ti;   /* the next pair's target */
    size_t                   ei;   /* its first exclude that may lie ahead */
    struct target_u128       addr; /* its address (0 for a name) */
    struct target_u128       end;  /* the last address of the allowed block it is in */
    size_t                   pi;   /* its port range */
    uint16_t                 port;
};

/* A cursor at position `skip`: its first pair is the one a fresh cursor would
 * yield after `skip` others. Whole targets and whole address blocks are skipped
 * by arithmetic: the cost grows with the targets, the excludes inside them and
 * the port entries passed, never with `skip`. A skip at or past the end gives a
 * cursor that is done. */
void target_cursor_init(struct target_cursor *c, const struct target_set *s, uint64_t skip);

/* The next pair: *ti the target index, addr its address (16 bytes; zero for a
 * name target, whose name the caller resolves), *port. False at the end. */
bool target_cursor_next(struct target_cursor *c, size_t *ti, unsigned char addr[16],
                        uint16_t *port);

#endif
