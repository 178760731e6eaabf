/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Connection tracking: one FORWARD entry keyed by the tuple the client sends and one
 * REPLY entry keyed by the tuple the backend sends back, so that either direction is
 * found with a single lookup of the packet as it arrives.
 *
 * A flow whose source is translated too (KPX_CT_F_SNAT: an external client's flow to a
 * remote backend, a pod reaching itself) keeps the translated source in the FORWARD
 * entry's peer and the client in the REPLY entry's peer; the REPLY key then names the
 * translated source, which is what the backend answers to.
 *
 * How a TCP flow closes decides how long its entries (and so a SNAT tuple) outlive it
 * (kpx_ct_close_flags(), kpx_ct_timeout_ns()): the side that sends the first FIN ends in
 * TIME_WAIT, the other closes on the final ACK. Client first: after its final ACK the
 * backend holds nothing, a short grace covers a resent FIN. Backend first: the backend
 * holds TIME_WAIT for 60 s, and so does the tuple. An RST leaves nothing on either side
 * but is kept 3 s for a resent SYN.
 * Only flags are kept, no sequence numbers: the final ACK is the client's first pure ACK
 * after both FINs, whatever it acknowledges, and a simultaneous close counts as the
 * client's if its FIN passed first (the backend then holds a TIME_WAIT for a tuple that
 * looks free after the grace).
 *
 * Entries are updated in place; two CPUs handling packets of the same flow may race on
 * last_seen_ns and flags. Both races are benign: a timestamp is as good as another a few
 * ns apart, and a lost close flag only leaves the entry with another close timeout for
 * a while (the flag is set again by the next packet that carries it).
 *
 * The backend cache. A FORWARD entry also carries its backend's address and port
 * (nat_addr/nat_port, KPX_CT_F_BACKEND_CACHED), so an established packet needs no
 * backends-map lookup. The cache is trusted only while
 *   - the backend generation (kpx_backend_gen_v1, bumped by the control plane after it
 *     deletes or rewrites a backend) is the one it was filled under, so a removed
 *     backend still moves its flows on their next packet (C2); and
 *   - the entry was seen less than KPX_CT_REFRESH_NS ago, so the 16-bit generation it
 *     keeps cannot have wrapped around to match again (that would take 65,536 control-
 *     plane writes within a second).
 * Otherwise the packet looks the backend up. If the cache still names that address and
 * port (the usual case: another backend changed, or the once-a-second check), only the
 * generation is updated, in place. If not (the backend id now names another endpoint,
 * or an entry written by a kpx without the cache), the entry is rewritten whole
 * (bpf_map_update_elem), so a reader never sees an address of one backend with the
 * port of another. Rewrites stay rare on purpose: an LRU map recycles a replaced
 * element at once, and a CPU still updating it in place would scribble on another
 * flow. The generation is read before the backend is looked up: a deletion between the
 * two leaves the older generation in the cache, which the next packet then distrusts.
 */
#ifndef KPX_CONNTRACK_H
#define KPX_CONNTRACK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "parse.h"

/* The kernel's tick rate, read by libbpf from the kernel config at load (a constant to
 * the verifier); 0 when the config cannot be read. */
extern unsigned int CONFIG_HZ __kconfig __weak;

/* The clock of every kpx timestamp (conntrack last_seen_ns, affinity last_used_ns):
 * CLOCK_MONOTONIC at tick resolution, less a constant set at boot (jiffies started
 * counting a little after monotonic time did: 0.25 s on the development VM). Timeouts
 * are in seconds and every stamp comes from this clock, so neither the tick nor the
 * offset matters; userspace comparing with clock_gettime(CLOCK_MONOTONIC) must allow
 * for the offset (or learn it from an entry it just caused).
 *
 * Read as jiffies: the verifier turns bpf_jiffies64() into one load, where
 * bpf_ktime_get_coarse_ns() is a helper call (about 14 ns, measured by
 * bench/datapath-testrun.ts, on the path of every established packet). Jiffies count
 * ticks of the same monotonic time from INITIAL_JIFFIES = (u32)(-300 * HZ), so
 * (jiffies - INITIAL_JIFFIES) * tick length is the coarse monotonic time. The switch is
 * on a load-time constant: only one case reaches the verifier; an unusual HZ or an
 * unreadable config falls back to the helper. */
static __always_inline __u64 kpx_now(void)
{
	__u64 tick_ns;

	switch (CONFIG_HZ) {
	case 100: tick_ns = 10000000; break;
	case 250: tick_ns = 4000000; break;
	case 300: tick_ns = 3333333; break;
	case 1000: tick_ns = 1000000; break;
	default: return bpf_ktime_get_coarse_ns();
	}
	return (bpf_jiffies64() - (__u64)(__u32)(-300 * (int)CONFIG_HZ)) * tick_ns;
}

/* The current backend generation (see the top of this file). */
static __always_inline __u32 kpx_backend_gen(void)
{
	__u32 zero = 0;
	__u32 *gen = bpf_map_lookup_elem(&kpx_backend_gen_v1, &zero);

	return gen ? *gen : 0;
}

/* Whether a FORWARD entry's backend cache may be used for a packet at `now`. */
static __always_inline int kpx_ct_cache_valid(const struct kpx_ct_value *v, __u32 gen, __u64 now)
{
	return (v->flags & KPX_CT_F_BACKEND_CACHED) && v->backend_gen == (__u16)gen &&
	       (__s64)(now - v->last_seen_ns) < (__s64)KPX_CT_REFRESH_NS;
}

/* Fills a FORWARD value's backend cache (the value is then written whole). */
static __always_inline void kpx_ct_cache_fill(struct kpx_ct_value *v, __be32 addr, __be16 port, __u32 gen)
{
	v->nat_addr = addr;
	v->nat_port = port;
	v->backend_gen = (__u16)gen;
	v->flags |= KPX_CT_F_BACKEND_CACHED;
}

static __always_inline struct kpx_ct_key kpx_ct_key_of(const struct kpx_pkt *p, __u8 dir)
{
	struct kpx_ct_key k = {
		.saddr = p->saddr,
		.daddr = p->daddr,
		.sport = p->sport,
		.dport = p->dport,
		.proto = p->proto,
		.dir = dir,
	};
	return k;
}

/* The REPLY key of a flow: the backend answering the (possibly translated) source. */
static __always_inline struct kpx_ct_key kpx_ct_reply_key(__u8 proto, __be32 backend_addr,
							  __be16 backend_port, __be32 src_addr,
							  __be16 src_port)
{
	struct kpx_ct_key k = {
		.saddr = backend_addr,
		.daddr = src_addr,
		.sport = backend_port,
		.dport = src_port,
		.proto = proto,
		.dir = KPX_CT_REPLY,
	};
	return k;
}

/* The REPLY key of the flow a forward packet p belongs to, given its FORWARD entry. */
static __always_inline struct kpx_ct_key kpx_ct_reply_key_of(const struct kpx_pkt *p,
							     const struct kpx_ct_value *fwd,
							     __be32 backend_addr, __be16 backend_port)
{
	if (fwd->flags & KPX_CT_F_SNAT)
		return kpx_ct_reply_key(p->proto, backend_addr, backend_port, fwd->peer_addr,
					fwd->peer_port);
	return kpx_ct_reply_key(p->proto, backend_addr, backend_port, p->saddr, p->sport);
}

/* The FORWARD key of the flow a reply packet belongs to. */
static __always_inline struct kpx_ct_key kpx_ct_forward_key(const struct kpx_pkt *p,
							    const struct kpx_ct_value *reply)
{
	int snat = reply->flags & KPX_CT_F_SNAT;
	struct kpx_ct_key k = {
		.saddr = snat ? reply->peer_addr : p->daddr,
		.daddr = reply->nat_addr,
		.sport = snat ? reply->peer_port : p->dport,
		.dport = reply->nat_port,
		.proto = p->proto,
		.dir = KPX_CT_FORWARD,
	};
	return k;
}

/* The flags a TCP packet with header flags `tcp` adds to its flow's entries, which have
 * `cur`; dir: the packet's direction (KPX_CT_FORWARD from the client, KPX_CT_REPLY from
 * the backend). 0 for the packets of an open flow, with one test. */
static __always_inline __u16 kpx_ct_close_flags(__u16 cur, __u8 tcp, __u8 dir)
{
	const __u16 both_fins = KPX_CT_F_FIN_CLIENT | KPX_CT_F_FIN_BACKEND;
	__u16 add = 0;

	if (!((tcp & (KPX_TCP_FIN | KPX_TCP_RST)) | (cur & KPX_CT_F_CLOSING)))
		return 0;
	if (tcp & KPX_TCP_RST)
		add |= KPX_CT_F_CLOSING | KPX_CT_F_RST;
	if (tcp & KPX_TCP_FIN) {
		if (dir == KPX_CT_FORWARD) {
			add |= KPX_CT_F_CLOSING | KPX_CT_F_FIN_CLIENT;
		} else {
			add |= KPX_CT_F_CLOSING | KPX_CT_F_FIN_BACKEND;
			if (!(cur & KPX_CT_F_FIN_CLIENT))
				add |= KPX_CT_F_BACKEND_FIRST;
		}
	} else if (dir == KPX_CT_FORWARD && (tcp & KPX_TCP_ACK) && (cur & both_fins) == both_fins &&
		   !(cur & KPX_CT_F_BACKEND_FIRST)) {
		add |= KPX_CT_F_CLOSED;
	}
	return add;
}

/* Seconds a TCP entry with KPX_CT_F_CLOSING may stay idle, by how the flow closed. */
static __always_inline __u64 kpx_ct_close_timeout_s(__u16 flags)
{
	if (flags & KPX_CT_F_RST)
		return KPX_CT_TIMEOUT_TCP_RST_S;
	if (flags & KPX_CT_F_CLOSED)
		return KPX_CT_TIMEOUT_TCP_CLOSED_S;
	if (flags & KPX_CT_F_BACKEND_FIRST)
		return KPX_CT_TIMEOUT_TCP_TIME_WAIT_S;
	return KPX_CT_TIMEOUT_TCP_CLOSING_S;
}

static __always_inline __u64 kpx_ct_timeout_ns(const struct kpx_ct_value *v, __u8 proto)
{
	__u64 timeout_s;

	if (proto == KPX_IPPROTO_TCP)
		timeout_s = (v->flags & KPX_CT_F_CLOSING) ? kpx_ct_close_timeout_s(v->flags)
							  : KPX_CT_TIMEOUT_TCP_S;
	else
		timeout_s = KPX_CT_TIMEOUT_UDP_S;
	return timeout_s * KPX_NSEC_PER_SEC;
}

/* True when the entry has been idle for longer than its protocol's timeout. Signed
 * difference: an entry stamped slightly in the future (another CPU) is not expired. */
static __always_inline int kpx_ct_expired(const struct kpx_ct_value *v, __u8 proto, __u64 now)
{
	return (__s64)(now - v->last_seen_ns) > (__s64)kpx_ct_timeout_ns(v, proto);
}

/* True when packet p may not continue the flow of FORWARD entry v: v expired, or p is a
 * SYN (no ACK) after a FIN, which a client sends only to open a new connection on the
 * same tuple (tcp_tw_reuse, or a port freed by a passive close and picked again). That
 * one is a new flow, as nf_conntrack reopens a closed entry on a SYN: backend selected
 * again, fresh entries, and a new SNAT port rather than the old one, which the backend
 * may hold in TIME_WAIT. A SYN after an RST only continues the flow: it is the resent
 * SYN of a handshake whose first SYN a TIME_WAIT refused (see KPX_CT_TIMEOUT_TCP_RST_S). */
static __always_inline int kpx_ct_stale(const struct kpx_ct_value *v, const struct kpx_pkt *p,
					__u64 now)
{
	__u16 flags = v->flags;
	__u64 timeout_s;

	/* kpx_ct_expired() with the SYN test inside the closing case only, so that an open
	 * flow's packets pay no more than the timeout lookup. */
	if (p->proto != KPX_IPPROTO_TCP) {
		timeout_s = KPX_CT_TIMEOUT_UDP_S;
	} else if (!(flags & KPX_CT_F_CLOSING)) {
		timeout_s = KPX_CT_TIMEOUT_TCP_S;
	} else {
		if ((flags & (KPX_CT_F_FIN_CLIENT | KPX_CT_F_FIN_BACKEND)) &&
		    (p->tcp_flags & (KPX_TCP_SYN | KPX_TCP_ACK)) == KPX_TCP_SYN)
			return 1;
		timeout_s = kpx_ct_close_timeout_s(flags);
	}
	return (__s64)(now - v->last_seen_ns) > (__s64)(timeout_s * KPX_NSEC_PER_SEC);
}

/* True when a live TCP entry's tuple may be taken by a new flow that would otherwise be
 * dropped for want of a SNAT port (KPX_CT_RECLAIM_TIME_WAIT_S in constants.h). */
static __always_inline int kpx_ct_reclaimable(__u16 flags, __u64 last_seen_ns, __u64 now)
{
	if (!(flags & KPX_CT_F_CLOSING))
		return 0;
	if ((__s64)(now - last_seen_ns) < 0) /* claimed (snat.h) or stamped by another CPU */
		return 0;
	if (flags & KPX_CT_F_RST) /* its short timeout frees it; until then it may be resent */
		return 0;
	if (flags & KPX_CT_F_CLOSED)
		return 1;
	if (flags & KPX_CT_F_BACKEND_FIRST)
		return (__s64)(now - last_seen_ns) >
		       (__s64)(KPX_CT_RECLAIM_TIME_WAIT_S * KPX_NSEC_PER_SEC);
	return 0;
}

/* Records a packet on an entry: adds flags and refreshes last_seen_ns when it is older
 * than KPX_CT_REFRESH_NS or the flags changed. Returns 1 when it wrote, so the caller
 * refreshes the other direction's entry too (a flow stays alive while either side
 * talks). */
static __always_inline int kpx_ct_touch(struct kpx_ct_value *v, __u64 now, __u16 flags)
{
	if ((v->flags & flags) == flags && (__s64)(now - v->last_seen_ns) < (__s64)KPX_CT_REFRESH_NS)
		return 0;
	v->flags |= flags;
	v->last_seen_ns = now;
	return 1;
}

/* Refreshes the entry under key, if it exists. */
static __always_inline void kpx_ct_touch_key(const struct kpx_ct_key *key, __u64 now, __u16 flags)
{
	struct kpx_ct_value *v = bpf_map_lookup_elem(&kpx_ct_v1, key);

	if (v) {
		v->flags |= flags;
		v->last_seen_ns = now;
	}
}

/* A new flow's two entries, before they are written. */
struct kpx_ct_flow {
	struct kpx_ct_key fkey;
	struct kpx_ct_key rkey;
	struct kpx_ct_value fwd;
	struct kpx_ct_value rep;
};

/* Fills both entries of a flow from packet p to backend (addr, port, id), chosen under
 * backend generation `gen`. `snat`: the source becomes (src_addr, src_port); otherwise
 * those are ignored. */
static __always_inline void kpx_ct_flow_init(struct kpx_ct_flow *f, const struct kpx_pkt *p,
					     __be32 backend_addr, __be16 backend_port,
					     __u32 backend_id, __u32 svc_id, __u32 gen, __u64 now,
					     int snat, __be32 src_addr, __be16 src_port)
{
	__u16 flags = kpx_ct_close_flags(0, p->tcp_flags, KPX_CT_FORWARD) | (snat ? KPX_CT_F_SNAT : 0);

	f->fkey = kpx_ct_key_of(p, KPX_CT_FORWARD);
	f->rkey = kpx_ct_reply_key(p->proto, backend_addr, backend_port, snat ? src_addr : p->saddr,
				   snat ? src_port : p->sport);
	f->fwd = (struct kpx_ct_value){
		.last_seen_ns = now,
		.flags = flags,
		.backend_id = backend_id,
		.svc_id = svc_id,
		.peer_addr = snat ? src_addr : 0,
		.peer_port = snat ? src_port : 0,
	};
	kpx_ct_cache_fill(&f->fwd, backend_addr, backend_port, gen);
	f->rep = (struct kpx_ct_value){
		.last_seen_ns = now,
		.nat_addr = p->daddr,
		.nat_port = p->dport,
		.flags = flags,
		.backend_id = backend_id,
		.svc_id = svc_id,
		.peer_addr = snat ? p->saddr : 0,
		.peer_port = snat ? p->sport : 0,
	};
}

/* Writes a flow: the REPLY entry first, so that no FORWARD entry exists whose replies
 * would go untranslated. Returns 0 or a negative error. */
static __always_inline int kpx_ct_write(const struct kpx_ct_flow *f)
{
	if (bpf_map_update_elem(&kpx_ct_v1, &f->rkey, &f->rep, BPF_ANY))
		return -1;
	if (bpf_map_update_elem(&kpx_ct_v1, &f->fkey, &f->fwd, BPF_ANY))
		return -1;
	return 0;
}

#endif /* KPX_CONNTRACK_H */
