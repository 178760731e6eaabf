/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Bounds-checked parsing of Ethernet / IPv4 / TCP / UDP into struct kpx_pkt, for tc and
 * XDP alike (ctx.h).
 *
 * kpx_parse() returns 0 for a well-formed, unfragmented IPv4 TCP or UDP packet, or the
 * kpx_reason to finish with: PASS_* for traffic that is not ours to translate,
 * DROP_MALFORMED for a frame whose Ethernet type says IPv4 but whose headers are bad
 * (the kernel's ip_rcv would drop it anyway; we count it).
 *
 * Fragments. Only a datagram's first fragment carries the L4 header, and a large UDP
 * datagram (a DNS answer with EDNS0, say) reaches a service or comes back from a backend
 * in several. The first fragment is parsed as any packet and its ports are remembered in
 * kpx_frags_v1 under (source, destination, IP id, protocol), the key every fragment of
 * the datagram carries as it arrives; a later fragment takes its ports from there
 * (later_frag) and is translated as the packets of its flow are, IP header only
 * (nat.h). The L4 checksum covers the whole datagram and sits in the first fragment,
 * whose rewrite accounts for every changed address and port. A later fragment that
 * arrives before its first (or whose entry was evicted) is passed untouched
 * (PASS_FRAGMENT), as every fragment was before; netfilter defragments instead, which
 * kpx cannot do per packet.
 */
#ifndef KPX_PARSE_H
#define KPX_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "constants.h"
#include "ctx.h"
#include "maps.h"

/* What the program needs of a parsed packet. Offsets are from the frame's start. The
 * socket hooks (sock.h) fill the tuple fields of one too, to call lb.h. */
struct kpx_pkt {
	__u32 l4_off; /* start of the TCP or UDP header */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto; /* KPX_IPPROTO_TCP or KPX_IPPROTO_UDP */
	__u8 tcp_flags; /* the TCP header's flags (KPX_TCP_*); 0 for UDP */
	__u16 tot_len; /* IP total length (from the skb for BIG TCP GSO packets) */
	__u8 later_frag; /* a later fragment: ports from kpx_frags_v1, no L4 header */
};

/* The key all fragments of ip's datagram share. */
static __always_inline struct kpx_frag_key kpx_frag_key_of(const struct iphdr *ip)
{
	struct kpx_frag_key k = { .saddr = ip->saddr, .daddr = ip->daddr, .id = ip->id, .proto = ip->protocol };

	return k;
}

#define KPX_L3_OFF KPX_ETH_HLEN

static __always_inline __u32 kpx_parse(void *ctx, const int xdp, struct kpx_pkt *p)
{
	void *data, *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	__u32 ip_len, hdr_len, tot_len, len;

	kpx_pull(ctx, xdp, KPX_PARSE_PULL_LEN);
	data = kpx_data(ctx, xdp);
	data_end = kpx_data_end(ctx, xdp);
	len = kpx_len(ctx, xdp);

	eth = data;
	if ((void *)(eth + 1) > data_end)
		/* No room for the Ethernet type: trust what the stack decided (tc). */
		return kpx_l3_hint(ctx, xdp) == bpf_htons(KPX_ETH_P_IP) ? KPX_R_DROP_MALFORMED
									 : KPX_R_PASS_NOT_IPV4;
	if (eth->h_proto != bpf_htons(KPX_ETH_P_IP))
		return KPX_R_PASS_NOT_IPV4;

	ip = data + KPX_L3_OFF;
	if ((void *)(ip + 1) > data_end)
		return KPX_R_DROP_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return KPX_R_DROP_MALFORMED;
	ip_len = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	/* BIG TCP GSO packets carry tot_len 0; their length is the skb's (as iph_totlen()). */
	if (tot_len == 0 && kpx_gso_size(ctx, xdp))
		tot_len = len - KPX_L3_OFF;
	if (tot_len < ip_len || tot_len > len - KPX_L3_OFF)
		return KPX_R_DROP_MALFORMED;

	if (ip->protocol == KPX_IPPROTO_TCP)
		hdr_len = sizeof(struct tcphdr);
	else if (ip->protocol == KPX_IPPROTO_UDP)
		hdr_len = sizeof(struct udphdr);
	else
		return KPX_R_PASS_NOT_TCP_UDP;

	p->l4_off = KPX_L3_OFF + ip_len;
	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->proto = ip->protocol;
	p->tcp_flags = 0;
	p->tot_len = tot_len;
	p->later_frag = 0;

	if (ip->frag_off & bpf_htons(KPX_IP_OFFSET)) {
		struct kpx_frag_key fk = kpx_frag_key_of(ip);
		struct kpx_frag_value *fv = bpf_map_lookup_elem(&kpx_frags_v1, &fk);

		if (!fv)
			return KPX_R_PASS_FRAGMENT;
		p->sport = fv->sport;
		p->dport = fv->dport;
		p->later_frag = 1;
		return 0;
	}
	if (tot_len < ip_len + hdr_len)
		return KPX_R_DROP_MALFORMED;

	if (p->proto == KPX_IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)ip + ip_len;

		if ((void *)(tcp + 1) > data_end || tcp->doff < 5)
			return KPX_R_DROP_MALFORMED;
		p->sport = tcp->source;
		p->dport = tcp->dest;
		/* The byte after the data offset: CWR ECE URG ACK PSH RST SYN FIN. */
		p->tcp_flags = ((__u8 *)tcp)[13];
	} else {
		struct udphdr *udp = (void *)ip + ip_len;

		if ((void *)(udp + 1) > data_end)
			return KPX_R_DROP_MALFORMED;
		p->sport = udp->source;
		p->dport = udp->dest;
	}
	if (ip->frag_off & bpf_htons(KPX_IP_MF)) {
		/* Best effort: without the entry, the later fragments pass untranslated. */
		struct kpx_frag_key fk = kpx_frag_key_of(ip);
		struct kpx_frag_value fv = { .sport = p->sport, .dport = p->dport };

		bpf_map_update_elem(&kpx_frags_v1, &fk, &fv, BPF_ANY);
	}
	return 0;
}

#endif /* KPX_PARSE_H */
