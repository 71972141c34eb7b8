import * as pulumi from "@pulumi/pulumi";

/** Value, knownness and secretness of an Output (internal fields of OutputImpl; facts/pulumi.md §3.3). */
export async function inspect<T>(
  o: pulumi.Output<T>,
): Promise<{ value: T; isKnown: boolean; isSecret: boolean }> {
  const a = o as any;
  return {
    value: (await a.promise(true)) as T,
    isKnown: (await a.isKnown) as boolean,
    isSecret: (await a.isSecret) as boolean,
  };
}
