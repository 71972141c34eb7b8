// The Pulumi mocks live in tools/ because tools/plan.ts and tools/bench.ts evaluate the program with them too.
export * from "../../tools/lab-mocks";
