// Service validation and defaulting as kube-apiserver does it (the parts a proxy depends
// on). Works on a private copy of the manifest object and fills in the defaults the API
// server would (type, protocol, targetPort, traffic policies, affinity timeout, families).
// Addresses and node ports left unset are allocated later (allocate.ts).

import { cidrContains, parseIpv4, type Cidr } from '../../net/ipv4.js';
import { Checker, isCidr, isCanonicalIpv4, isIp, isObject, NAME_RULES, PROTOCOLS, type JsonObject } from './fields.js';

export interface ServiceRules {
  readonly serviceCidr: Cidr;
  readonly nodePortRange: { readonly min: number; readonly max: number };
}

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
const POLICIES = ['Cluster', 'Local'] as const;
const DEFAULT_AFFINITY_TIMEOUT = 10800;

/** The network and broadcast addresses of the range are never service addresses. */
function usableInCidr(c: Cidr, ip: number): boolean {
  const size = 2 ** (32 - c.bits);
  return cidrContains(c, ip) && (size <= 2 || (ip !== c.base && ip !== c.base + size - 1));
}

export function validateService(c: Checker, svc: JsonObject, rules: ServiceRules): void {
  if (svc['spec'] !== undefined && !isObject(svc['spec'])) c.fail('spec', 'must be an object');
  const spec: JsonObject = isObject(svc['spec']) ? svc['spec'] : {};
  svc['spec'] = spec;

  const type = c.oneOf(spec['type'], 'spec.type', SERVICE_TYPES, 'ClusterIP') ?? 'ClusterIP';
  spec['type'] = type;
  const external = type === 'ExternalName';
  const needsNodePorts = type === 'NodePort' || type === 'LoadBalancer';

  // --- addresses
  let clusterIP = c.string(spec['clusterIP'], 'spec.clusterIP') ?? '';
  const clusterIPs = c.array(spec['clusterIPs'], 'spec.clusterIPs');
  if (clusterIPs.length > 1) c.fail('spec.clusterIPs', 'dual-stack Services are not supported in manifests (IPv4 only)');
  const first = clusterIPs[0];
  if (first !== undefined) {
    if (typeof first !== 'string') c.fail('spec.clusterIPs[0]', 'must be a string');
    else if (clusterIP === '') clusterIP = first;
    else if (first !== clusterIP) c.fail('spec.clusterIPs[0]', `must match spec.clusterIP ${JSON.stringify(clusterIP)}`);
  }
  const headless = clusterIP === 'None';
  if (external) {
    if (clusterIP !== '') c.fail('spec.clusterIP', 'must be empty for type ExternalName');
    const name = c.string(spec['externalName'], 'spec.externalName', true);
    if (name !== undefined && !NAME_RULES.dns1123Subdomain(name.replace(/\.$/, '').toLowerCase())) {
      c.fail('spec.externalName', `${JSON.stringify(name)} is not a DNS name`);
    }
  } else if (headless) {
    if (needsNodePorts) c.fail('spec.clusterIP', `may not be None for ${type} Services`);
  } else if (clusterIP !== '') {
    const ip = parseIpv4(clusterIP);
    if (!isCanonicalIpv4(clusterIP) || ip === undefined) {
      c.fail('spec.clusterIP', `${JSON.stringify(clusterIP)} must be an IPv4 address (or None for a headless Service)`);
    } else if (!usableInCidr(rules.serviceCidr, ip)) {
      c.fail('spec.clusterIP', `${clusterIP} is not in the valid range: service CIDR ${rules.serviceCidr.text}`);
    }
  }
  if (!external) {
    spec['clusterIP'] = clusterIP;
    if (clusterIP !== '') spec['clusterIPs'] = [clusterIP];
    else delete spec['clusterIPs'];
    const families = c.array(spec['ipFamilies'], 'spec.ipFamilies');
    if (families.some((f) => f !== 'IPv4')) c.fail('spec.ipFamilies', 'only IPv4 is supported in manifests');
    spec['ipFamilies'] = ['IPv4'];
    const policy = c.oneOf(spec['ipFamilyPolicy'], 'spec.ipFamilyPolicy', ['SingleStack', 'PreferDualStack', 'RequireDualStack'], 'SingleStack');
    if (policy === 'RequireDualStack') c.fail('spec.ipFamilyPolicy', 'RequireDualStack is not supported in manifests (IPv4 only)');
    spec['ipFamilyPolicy'] = 'SingleStack';
  }

  // --- ports
  const ports = c.array(spec['ports'], 'spec.ports');
  if (ports.length === 0 && !headless && !external) c.fail('spec.ports', 'required value: a Service needs at least one port');
  const names = new Set<string>();
  const portProto = new Set<string>();
  const nodePortProto = new Map<string, number>();
  ports.forEach((raw, i) => {
    const f = `spec.ports[${i}]`;
    const p = c.object(raw, f, true);
    if (!p) return;
    const name = c.name(p['name'] ?? '', `${f}.name`, 'dns1123Label', ports.length > 1);
    if (name !== undefined && name !== '') {
      if (names.has(name)) c.fail(`${f}.name`, `duplicate port name ${JSON.stringify(name)}`);
      names.add(name);
    }
    const protocol = c.oneOf(p['protocol'], `${f}.protocol`, PROTOCOLS, 'TCP');
    if (protocol) p['protocol'] = protocol;
    const port = c.int(p['port'], `${f}.port`, 1, 65535, true);
    if (port !== undefined && protocol) {
      const key = `${port}/${protocol}`;
      if (portProto.has(key)) c.fail(`${f}.port`, `duplicate port ${key}`);
      portProto.add(key);
    }
    const target = p['targetPort'];
    if (target === undefined || target === null || target === 0 || target === '') {
      if (port !== undefined) p['targetPort'] = port; // P2: targetPort defaults to port
    } else if (typeof target === 'string') {
      if (!NAME_RULES.ianaSvcName(target)) c.fail(`${f}.targetPort`, `${JSON.stringify(target)} must be a port number or an IANA service name`);
    } else {
      c.int(target, `${f}.targetPort`, 1, 65535);
    }
    if (p['nodePort'] !== undefined && p['nodePort'] !== null && p['nodePort'] !== 0) {
      if (!needsNodePorts) c.fail(`${f}.nodePort`, `may not be used when type is '${type}'`);
      const np = c.int(p['nodePort'], `${f}.nodePort`, 1, 65535);
      const { min, max } = rules.nodePortRange;
      if (np !== undefined && (np < min || np > max)) {
        c.fail(`${f}.nodePort`, `${np} is not in the valid range. The range of valid ports is ${min}-${max}`);
      }
      if (np !== undefined && protocol) {
        const key = `${np}/${protocol}`;
        if (nodePortProto.has(key) && nodePortProto.get(key) !== port) c.fail(`${f}.nodePort`, `duplicate nodePort ${key}`);
        nodePortProto.set(key, port ?? 0);
      }
    } else {
      delete p['nodePort'];
    }
    if (p['appProtocol'] !== undefined) c.string(p['appProtocol'], `${f}.appProtocol`);
  });

  // --- selection and policies
  c.stringMap(spec['selector'], 'spec.selector');
  const affinity = c.oneOf(spec['sessionAffinity'], 'spec.sessionAffinity', ['None', 'ClientIP'], 'None');
  if (affinity) spec['sessionAffinity'] = affinity;
  const affinityConfig = c.object(spec['sessionAffinityConfig'], 'spec.sessionAffinityConfig');
  if (affinity === 'ClientIP') {
    const clientIP = c.object(affinityConfig?.['clientIP'], 'spec.sessionAffinityConfig.clientIP') ?? {};
    const timeout = c.int(clientIP['timeoutSeconds'], 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', 1, 86400);
    spec['sessionAffinityConfig'] = { clientIP: { timeoutSeconds: timeout ?? DEFAULT_AFFINITY_TIMEOUT } };
  } else if (affinityConfig !== undefined) {
    c.fail('spec.sessionAffinityConfig', `must not be set when sessionAffinity is ${affinity ?? 'None'}`);
  }

  const externalIPs = c.array(spec['externalIPs'], 'spec.externalIPs');
  externalIPs.forEach((ip, i) => {
    if (typeof ip !== 'string' || !isIp(ip)) c.fail(`spec.externalIPs[${i}]`, `${JSON.stringify(ip)} must be a valid IP address`);
  });

  const externallyReachable = needsNodePorts || externalIPs.length > 0;
  const etp = c.oneOf(spec['externalTrafficPolicy'], 'spec.externalTrafficPolicy', POLICIES);
  if (etp !== undefined && (!externallyReachable || external)) {
    c.fail('spec.externalTrafficPolicy', 'may only be set for externally-accessible Services (NodePort, LoadBalancer or externalIPs)');
  }
  if (needsNodePorts) spec['externalTrafficPolicy'] = etp ?? 'Cluster';
  if (!external) spec['internalTrafficPolicy'] = c.oneOf(spec['internalTrafficPolicy'], 'spec.internalTrafficPolicy', POLICIES, 'Cluster');

  if (spec['healthCheckNodePort'] !== undefined && spec['healthCheckNodePort'] !== 0) {
    if (type !== 'LoadBalancer' || spec['externalTrafficPolicy'] !== 'Local') {
      c.fail('spec.healthCheckNodePort', 'may only be set when type is LoadBalancer and externalTrafficPolicy is Local');
    } else {
      const { min, max } = rules.nodePortRange;
      const hc = c.int(spec['healthCheckNodePort'], 'spec.healthCheckNodePort', 1, 65535);
      if (hc !== undefined && (hc < min || hc > max)) {
        c.fail('spec.healthCheckNodePort', `${hc} is not in the valid range. The range of valid ports is ${min}-${max}`);
      }
    }
  } else delete spec['healthCheckNodePort'];

  if (type === 'LoadBalancer') {
    spec['allocateLoadBalancerNodePorts'] = c.bool(spec['allocateLoadBalancerNodePorts'], 'spec.allocateLoadBalancerNodePorts') ?? true;
  }
  const ranges = c.array(spec['loadBalancerSourceRanges'], 'spec.loadBalancerSourceRanges');
  if (ranges.length > 0 && type !== 'LoadBalancer') c.fail('spec.loadBalancerSourceRanges', 'may only be used when type is LoadBalancer');
  ranges.forEach((r, i) => {
    if (typeof r !== 'string' || !isCidr(r)) c.fail(`spec.loadBalancerSourceRanges[${i}]`, `${JSON.stringify(r)} must be a CIDR such as 192.168.0.0/16`);
  });
  c.bool(spec['publishNotReadyAddresses'], 'spec.publishNotReadyAddresses');

  // --- status (LoadBalancer ingress is written by hand in standalone mode)
  const status = c.object(svc['status'], 'status');
  const lb = c.object(status?.['loadBalancer'], 'status.loadBalancer');
  c.array(lb?.['ingress'], 'status.loadBalancer.ingress').forEach((raw, i) => {
    const f = `status.loadBalancer.ingress[${i}]`;
    const ing = c.object(raw, f, true);
    if (!ing) return;
    const ip = c.string(ing['ip'], `${f}.ip`);
    if (ip !== undefined && !isIp(ip)) c.fail(`${f}.ip`, `${JSON.stringify(ip)} must be a valid IP address`);
    c.string(ing['hostname'], `${f}.hostname`);
    c.oneOf(ing['ipMode'], `${f}.ipMode`, ['VIP', 'Proxy']);
  });
}

/** Whether a (valid, defaulted) Service gets node ports allocated. */
export function needsNodePorts(spec: JsonObject): boolean {
  return spec['type'] === 'NodePort' || (spec['type'] === 'LoadBalancer' && spec['allocateLoadBalancerNodePorts'] !== false);
}

/** Whether a (valid, defaulted) Service gets a ClusterIP allocated. */
export function needsClusterIp(spec: JsonObject): boolean {
  return spec['type'] !== 'ExternalName' && spec['clusterIP'] !== 'None';
}

export function needsHealthCheckNodePort(spec: JsonObject): boolean {
  return spec['type'] === 'LoadBalancer' && spec['externalTrafficPolicy'] === 'Local';
}
