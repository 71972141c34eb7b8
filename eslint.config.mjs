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
);
