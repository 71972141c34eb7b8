// ESLint flat config: typescript-eslint (type-aware) + @pulumi/eslint-plugin, which forbids Outputs in
// template literals (use pulumi.interpolate instead).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

export default tseslint.config(
  { ignores: ["node_modules/**", "bin/**", "eslint.config.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
      "no-console": "error",
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
  { files: ["tools/**/*.ts", "test/**/*.ts"], rules: { "no-console": "off" } },
  // The house's layers: the program's code never reaches into the commands, the tools or the tests; the tools and
  // the commands do not build resources (components/) and the tools run without the tests.
  ...[
    [
      ["components/**", "lib/**", "mac/**"],
      ["tools", "ops", "test"],
    ],
    [["tools/**"], ["test", "components"]],
    [["ops/**"], ["test", "components", "tools"]],
  ].map(([files, dirs]) => restrictImports(files, dirs)),
  // lib/ is pure: what touches the Mac (processes, files under ~/.tartlab, HTTP) lives in mac/.
  restrictImports(["lib/**"], ["tools", "ops", "test", "mac"]),
);

/** A config object forbidding `files` to import from the top-level folders `dirs` (relative imports). */
function restrictImports(files, dirs) {
  return {
    files: files.map((f) => `${f}/*.ts`),
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${dirs.join("|")})(/|$)`,
              message: `${files.join(", ")} must not import from ${dirs.join(", ")}`,
            },
          ],
        },
      ],
    },
  };
}
