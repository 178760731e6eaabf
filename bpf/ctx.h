/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One packet logic, two program types: the context abstraction.
 *
 * Every function here takes the program's context as `void *ctx` and a compile-time
 * constant `xdp` (KPX_TC or KPX_XDP). The logic in kpx.c is written once against these
 * functions and instantiated per program type; since everything is __always_inline and
 * `xdp` is a constant, clang drops the other type's branch and the verifier only ever
 * sees context accesses valid for the program it loads.
 *
 * Checksums. XDP sees the frame as the wire carried it, with complete checksums, and
 * updates them inline (RFC 1624). tc sees an skb whose checksum state (skb->ip_summed)
 * decides how the L4 checksum field must change:
 *   CHECKSUM_NONE, CHECKSUM_UNNECESSARY  the field is a full checksum: inline, as XDP;
 *   CHECKSUM_PARTIAL (a local socket, or a pod's veth, left the sum to the device)
 *                                        the field is only the pseudo-header seed: the
 *                                        address change goes into it, uncomplemented,
 *                                        and the port change must not (the device sums
 *                                        the ports): inline too;
 *   CHECKSUM_COMPLETE (a NIC summed the frame) skb->csum must follow the pseudo-header
 *                                        change, which only the kernel helper can write.
 * The state is read through bpf_cast_to_kern_ctx() (Linux >= 6.3), a kfunc the verifier
 * turns into a register move; without it, or for CHECKSUM_COMPLETE, the helper
 * bpf_l4_csum_replace() does the work (one call per kind of change, ~23 ns each on the
 * development VM, the largest single cost of an established packet before this).
 * The IP header checksum is always updated inline: its bytes sum to a constant, so no
 * skb checksum state depends on it.
 */
#ifndef KPX_CTX_H
#define KPX_CTX_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "csum.h"

#define KPX_TC 0
#define KPX_XDP 1

/* What becomes of the packet, besides its reason. */
#define KPX_ACT_PASS 0 /* on to the stack (tc: TC_ACT_OK, XDP: XDP_PASS) */
#define KPX_ACT_DROP 1
#define KPX_ACT_TX 2 /* back out of the interface it came in on (XDP_TX / bpf_redirect) */

static __always_inline void *kpx_data(void *ctx, const int xdp)
{
	if (xdp)
		return (void *)(long)((struct xdp_md *)ctx)->data;
	return (void *)(long)((struct __sk_buff *)ctx)->data;
}

static __always_inline void *kpx_data_end(void *ctx, const int xdp)
{
	if (xdp)
		return (void *)(long)((struct xdp_md *)ctx)->data_end;
	return (void *)(long)((struct __sk_buff *)ctx)->data_end;
}

/* The packet's length: skb->len (linear and paged), or the XDP frame (kpx loads without
 * multi-buffer support, so an XDP frame is all linear). */
static __always_inline __u32 kpx_len(void *ctx, const int xdp)
{
	if (xdp) {
		/* A 64-bit pointer difference, kept from being folded into 32-bit pointer
		 * arithmetic with its users (which the verifier refuses). */
		__u64 len = (__u64)kpx_data_end(ctx, xdp) - (__u64)kpx_data(ctx, xdp);

		asm volatile("" : "+r"(len));
		return (__u32)len;
	}
	return ((struct __sk_buff *)ctx)->len;
}

/* GSO segment size (BIG TCP packets carry IP tot_len 0); XDP frames are never GSO. */
static __always_inline __u32 kpx_gso_size(void *ctx, const int xdp)
{
	if (xdp)
		return 0;
	return ((struct __sk_buff *)ctx)->gso_size;
}

/* What the stack decided the frame carries, for frames too short to tell; 0 in XDP. */
static __always_inline __be16 kpx_l3_hint(void *ctx, const int xdp)
{
	if (xdp)
		return 0;
	return ((struct __sk_buff *)ctx)->protocol;
}

/* Makes sure the first `want` bytes (or the whole packet, if shorter) are linear.
 * Invalidates packet pointers. XDP frames are linear already. */
static __always_inline void kpx_pull(void *ctx, const int xdp, __u32 want)
{
	struct __sk_buff *skb = ctx;
	__u32 linear, len;

	if (xdp)
		return;
	linear = skb->data_end - skb->data;
	len = skb->len < want ? skb->len : want;
	if (linear < len)
		bpf_skb_pull_data(skb, len);
}

/* The kernel's struct sk_buff, reduced to the one field kpx reads; CO-RE relocates the
 * access against the running kernel's BTF at load. */
struct sk_buff {
	__u8 ip_summed : 2;
} __attribute__((preserve_access_index));

/* Weak: on a kernel without it libbpf resolves it to NULL and the object still loads. */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

/* skb->ip_summed values (include/linux/skbuff.h). */
#define KPX_CHECKSUM_NONE        0
#define KPX_CHECKSUM_UNNECESSARY 1
#define KPX_CHECKSUM_COMPLETE    2
#define KPX_CHECKSUM_PARTIAL     3
/* Not a kernel value: the state could not be read. */
#define KPX_CHECKSUM_UNKNOWN     4

/* The skb's checksum state, or KPX_CHECKSUM_UNKNOWN without the kfunc. */
static __always_inline __u32 kpx_skb_csum_state(struct __sk_buff *ctx)
{
	struct sk_buff *skb;

	if (!bpf_cast_to_kern_ctx)
		return KPX_CHECKSUM_UNKNOWN;
	skb = bpf_cast_to_kern_ctx(ctx);
	return BPF_CORE_READ_BITFIELD(skb, ip_summed);
}

/* Applies address and port diffs (see csum.h) to the L4 checksum at csum_off, as
 * bpf_l4_csum_replace() would for the skb's checksum state (see the top of this file).
 * `udp`: a zero field means "no checksum" and stays zero; a computed zero is written as
 * 0xffff (RFC 768). Returns 0 or a negative error. Invalidates packet pointers. */
static __always_inline int kpx_l4_csum(void *ctx, const int xdp, __u32 csum_off, __u32 addr_diff,
				       __u32 port_diff, int udp)
{
	__u32 state = xdp ? KPX_CHECKSUM_NONE : kpx_skb_csum_state(ctx);
	void *data, *end;
	__u16 *check;
	__u16 v;

	if (state == KPX_CHECKSUM_COMPLETE || state == KPX_CHECKSUM_UNKNOWN) {
		__u64 mm = udp ? BPF_F_MARK_MANGLED_0 : 0;

		/* Size 0: "apply this diff". BPF_F_PSEUDO_HDR: the address diff also goes
		 * into skb->csum; the port diff must not. */
		if (bpf_l4_csum_replace(ctx, csum_off, 0, addr_diff, mm | BPF_F_PSEUDO_HDR))
			return -1;
		if (port_diff && bpf_l4_csum_replace(ctx, csum_off, 0, port_diff, mm))
			return -1;
		return 0;
	}

	/* tc: the header up to the checksum is linear (kpx_parse pulled it) and writable
	 * (the verifier's prologue for programs that write packet data unclones it). */
	data = kpx_data(ctx, xdp);
	end = kpx_data_end(ctx, xdp);
	check = data + (csum_off & 0xff);
	if ((void *)(check + 1) > end)
		return -1;
	if (udp && *check == 0)
		return 0;
	if (state == KPX_CHECKSUM_PARTIAL)
		/* The seed is an uncomplemented pseudo-header sum. */
		v = (__u16)~kpx_csum_fold(kpx_csum_add(*check, addr_diff));
	else
		v = kpx_csum_update(*check, kpx_csum_add(addr_diff, port_diff));
	if (udp && v == 0)
		v = 0xffff;
	*check = v;
	return 0;
}

/* Adds `len` bytes in front of the frame (tc: before the MAC header). Invalidates
 * packet pointers. The new bytes are garbage (XDP) or zero (tc). */
static __always_inline int kpx_grow_head(void *ctx, const int xdp, __u32 len)
{
	if (xdp)
		return bpf_xdp_adjust_head(ctx, -(int)len);
	return bpf_skb_change_head(ctx, len, 0);
}

/* Cuts (or grows) the frame to `len` bytes. Invalidates packet pointers. */
static __always_inline int kpx_set_len(void *ctx, const int xdp, __u32 len)
{
	if (xdp)
		return bpf_xdp_adjust_tail(ctx, (int)len - (int)kpx_len(ctx, xdp));
	return bpf_skb_change_tail(ctx, len, 0);
}

/* The program's return value for an action. */
static __always_inline int kpx_action(void *ctx, const int xdp, __u32 act)
{
	if (xdp)
		return act == KPX_ACT_DROP ? XDP_DROP : act == KPX_ACT_TX ? XDP_TX : XDP_PASS;
	if (act == KPX_ACT_DROP)
		return TC_ACT_SHOT;
	if (act == KPX_ACT_TX)
		/* At tc ingress skb->ifindex is the receiving device: this is its egress. */
		return bpf_redirect(((struct __sk_buff *)ctx)->ifindex, 0);
	return TC_ACT_OK;
}

#endif /* KPX_CTX_H */
