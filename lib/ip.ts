/** The one module that imports ipaddr.js, so that no regex takes 999.1.1.1 for an address. */
import * as ipaddr from "ipaddr.js";

export type Ipv4Range = [ipaddr.IPv4, number];

export const isIpv4 = (text: string): boolean => ipaddr.IPv4.isValidFourPartDecimal(text);

/**
 * `not-cidr`, `not-ipv4` (IPv6, or not four-part decimal) or `host-bits` (with the network it likely meant).
 */
export function parseIpv4Cidr(
  text: string,
):
  | { readonly range: Ipv4Range }
  | { readonly error: "not-cidr" }
  | { readonly error: "not-ipv4" }
  | { readonly error: "host-bits"; readonly network: string; readonly bits: number } {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(text);
  } catch {
    return { error: "not-cidr" };
  }
  const [addr, bits] = parsed;
  if (addr.kind() !== "ipv4" || !isIpv4(text.split("/")[0])) return { error: "not-ipv4" };
  const network = ipaddr.IPv4.networkAddressFromCIDR(text).toString();
  if (network !== addr.toString()) return { error: "host-bits", network, bits };
  return { range: [addr as ipaddr.IPv4, bits] };
}

export function rangesOverlap(a: Ipv4Range, b: Ipv4Range): boolean {
  return a[0].match(b) || b[0].match(a);
}

const LOOPBACK_NAMES = new Set(["localhost", "localhost."]);

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1");
  if (LOOPBACK_NAMES.has(h.toLowerCase())) return true;
  if (!ipaddr.isValid(h)) return false;
  let addr = ipaddr.parse(h);
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  }
  return addr.range() === "loopback";
}
