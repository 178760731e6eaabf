// Limits of the map ABI that the encoder enforces. Mirrors bpf/constants.h
// (test/encoder/limits.test.ts checks the value against the header).

/** Backend slots of one frontend; slot-0 `count` is a __u16. */
export const KPX_MAX_BACKENDS_PER_SVC = 65535;

/** svc_id and backend_id are __u32; 0 is reserved as invalid. */
export const KPX_MAX_ID = 0xffffffff;
