/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every map of the kpx datapath. Names are MAP_NAMES in src/datapath/abi.ts; each map is
 * pinned by name under the pin root userspace passes at open, so a restarted agent (C5)
 * reuses the live maps instead of creating empty ones. Key and value types are the ABI
 * structs of abi.h, BTF-defined so `bpftool map dump pinned …` prints named fields.
 */
#ifndef KPX_MAPS_H
#define KPX_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abi.h"
#include "constants.h"

/* Frontends and their backend slots, keyed by kpx_svc_key (VIP, port, proto, scope,
 * slot). Written only by the control plane, in the order backends, slots, slot 0, so
 * any slot below slot 0's count names a live backend. Not preallocated: memory follows
 * the number of services, and the datapath never inserts into it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KPX_SERVICES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct kpx_svc_key);
	__type(value, struct kpx_svc_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_services_v1 SEC(".maps");

/* Backends, keyed by __u32 backend id (never 0). Written only by the control plane; a
 * removed backend is deleted, which is how the datapath learns to move its flows (C2). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KPX_BACKENDS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct kpx_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_backends_v1 SEC(".maps");

/* Connection tracking, keyed by kpx_ct_key (tuple as it arrives + direction). Written by
 * the datapath (one FORWARD and one REPLY entry per flow); userspace only reads it or
 * deletes entries. LRU so that a full table evicts the oldest flows instead of failing. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KPX_CT_MAX);
	__type(key, struct kpx_ct_key);
	__type(value, struct kpx_ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_ct_v1 SEC(".maps");

/* ClientIP session affinity (A1), keyed by kpx_affinity_key (client address, frontend
 * svc_id). Written by the datapath on every new flow to an affinity frontend. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KPX_AFFINITY_MAX);
	__type(key, struct kpx_affinity_key);
	__type(value, struct kpx_affinity_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_affinity_v1 SEC(".maps");

/* Per-CPU packet and byte counters, keyed by enum kpx_reason. Written by the datapath;
 * userspace sums the CPUs (sumPerCpuCounter in abi.ts). (The kernel requires an array
 * map's BTF key to be an integer, so the key cannot be typed as the enum.) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KPX_R_MAX);
	__type(key, __u32);
	__type(value, struct kpx_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_counters_v1 SEC(".maps");

#endif /* KPX_MAPS_H */
