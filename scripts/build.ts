// Builds dist/catena, one self-contained executable for every role.
// Ink imports react-devtools-core only when DEV=true, but the bundler follows the import anyway;
// the plugin below resolves that one module to an empty stub so --compile succeeds and the
// binary starts (leaving it --external makes the binary fail at start).

import { mkdirSync } from "node:fs";

mkdirSync("dist", { recursive: true });

const result = await Bun.build({
  entrypoints: ["src/cli/main.ts"],
  target: "bun",
  minify: { syntax: true, whitespace: true, identifiers: false },
  sourcemap: "none",
  define: { "process.env.DEV": JSON.stringify("false") },
  compile: {
    outfile: "dist/catena",
    // The binary reads configuration only from --config: no .env, no bunfig.toml, no tsconfig.
    autoloadDotenv: false,
    autoloadBunfig: false,
    autoloadTsconfig: false,
    autoloadPackageJson: false,
  },
  plugins: [
    {
      name: "stub-react-devtools",
      setup(build) {
        build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: "react-devtools-core", namespace: "stub" }));
        build.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export default { connectToDevTools() {} };", loader: "js" }));
      },
    },
  ],
});

if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log("built dist/catena");
