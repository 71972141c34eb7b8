/**
 * Runs one Pulumi CLI command on a program loaded into this process and served over the CLI's `--client`
 * address (as the Automation API serves inline programs), because the Go module proxy does not serve the
 * Node.js language host that tools/engine/build.sh would need. Usage: `node --import tsx
 * tools/engine/client.ts <program.ts> <pulumi args...>`, running PULUMI_BIN (default .engine/bin/pulumi) in
 * the directory of Pulumi.yaml.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import * as path from "node:path";

interface GrpcServer {
  addService(service: unknown, implementation: unknown): void;
  bindAsync(address: string, credentials: unknown, callback: (err: Error | null, port: number) => void): void;
  forceShutdown(): void;
}
interface LanguageServer {
  onPulumiExit(hasError: boolean): void;
}

// The SDK's own gRPC library and inline-program server, so both speak its protocol version.
const sdkRequire = createRequire(require.resolve("@pulumi/pulumi/package.json"));
const grpc = sdkRequire("@grpc/grpc-js") as {
  Server: new (options: object) => GrpcServer;
  ServerCredentials: { createInsecure(): unknown };
};
const { LanguageServer } = sdkRequire("./automation/server") as {
  LanguageServer: new (program: () => Promise<unknown>) => LanguageServer;
};
const { LanguageRuntimeService } = sdkRequire("./proto/language_grpc_pb") as {
  LanguageRuntimeService: unknown;
};
const { grpcChannelOptions } = sdkRequire("./runtime") as { grpcChannelOptions: object };

async function main(argv: string[]): Promise<number> {
  const [programFile, ...args] = argv;
  if (!programFile || args.length === 0) {
    process.stderr.write(
      "usage: node --import tsx tools/engine/client.ts <program.ts> <pulumi arguments...>\n",
    );
    return 2;
  }
  const program = async (): Promise<unknown> => {
    // `up` runs the program twice in this one process, so modules load afresh each time as in the language
    // host, or their top-level resources would register only once.
    for (const key of Object.keys(require.cache)) {
      if (!key.includes(`${path.sep}node_modules${path.sep}`)) delete require.cache[key];
    }
    const exported = createRequire(__filename)(path.resolve(programFile)) as unknown;
    const value =
      typeof exported === "object" && exported !== null && "default" in exported
        ? exported.default
        : exported;
    return value instanceof Function ? (value as () => unknown)() : value;
  };
  const server = new grpc.Server({ ...grpcChannelOptions });
  const language = new LanguageServer(program);
  server.addService(LanguageRuntimeService, language);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const bin = process.env.PULUMI_BIN ?? path.join(__dirname, "..", "..", ".engine", "bin", "pulumi");
  const child = spawn(bin, [...args, `--client=127.0.0.1:${port}`], { stdio: "inherit" });
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (status, signal) => resolve(status ?? (signal ? 128 : 1)));
  });
  server.forceShutdown();
  language.onPulumiExit(code !== 0);
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`client.ts: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
