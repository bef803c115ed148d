// Builds dist/: tsc's ES modules and declarations, one minified ESM bundle
// (esbuild), and the demo pages (dist/demo/*.html: each one HTML file with
// its style and its bundled, minified script inlined, nothing external).
// The tools are deterministic and nothing here depends on the time or the
// machine, so CI can rebuild and diff the output.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);

/** esbuild options shared by the bundle and the pages. */
const common = {
  absWorkingDir: root,
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
};

rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
await esbuild.build({
  ...common,
  entryPoints: ["src/index.ts"],
  outfile: "dist/snapwire-client.min.js",
  platform: "neutral",
});

// The demo pages: demo/NAME.html with demo/style.css and the bundle of
// demo/NAME.ts in place of its STYLE and SCRIPT comments.
const style = readFileSync(new URL("../demo/style.css", import.meta.url), "utf8").trim();
mkdirSync(new URL("../dist/demo", import.meta.url), { recursive: true });
for (const page of ["arena", "shooter"]) {
  const built = await esbuild.build({ ...common, entryPoints: [`demo/${page}.ts`], platform: "browser", write: false });
  const script = built.outputFiles[0].text.trim();
  if (/<\/script/i.test(script)) throw new Error(`demo/${page}.ts: the bundle contains "</script" and cannot be inlined`);
  const template = readFileSync(new URL(`../demo/${page}.html`, import.meta.url), "utf8");
  if (!template.includes("/* STYLE */") || !template.includes("/* SCRIPT */")) throw new Error(`demo/${page}.html: no STYLE or SCRIPT marker`);
  // Functions as replacements: `$` in the script is not a pattern.
  const html = template.replace("/* STYLE */", () => style).replace("/* SCRIPT */", () => script);
  writeFileSync(new URL(`../dist/demo/${page}.html`, import.meta.url), html);
}
