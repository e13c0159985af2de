import { createRequire as __nopeaCreateRequire } from 'node:module'; const require = __nopeaCreateRequire(import.meta.url);
import{f as n}from"./chunk-N3K7CHLW.js";import{b as c,e as l,f as p,g as s}from"./chunk-DPSDZUDQ.js";import{a as m}from"./chunk-UCJHH7EB.js";import{d}from"./chunk-VMA24CHL.js";var i=d(m(),1);function a(o,r=process.env){return r.NO_COLOR!==void 0&&r.NO_COLOR!==""?!1:r.FORCE_COLOR!==void 0?r.FORCE_COLOR!=="0"&&r.FORCE_COLOR!=="false":r.TERM==="dumb"?!1:!!o.isTTY}function C(o,r=process.env){let e=r.CI!==void 0&&r.CI!==""&&r.CI!=="0"&&r.CI!=="false";return!!o.isTTY&&!e&&r.TERM!=="dumb"}var u=50;function O(o,r=process.stderr){let e=a(r)?(0,i.styleText)("red","error:",{validateStream:!1}):"error:";for(let f of o.problems.slice(0,u))r.write(`${e} ${l(f)}
`);let t=o.problems.length-u;t>0&&r.write(`${e} and ${t.toLocaleString("en-US")} more problems (-o json lists them all)
`)}function b(o,r){let t=a(process.stderr)?(0,i.styleText)("red","error:"):"error:";return o instanceof c?(O(o),r==="json"&&process.stdout.write(`${JSON.stringify({error:s(o)},null,2)}
`),n(o)):(process.stderr.write(`${t} internal error: ${p(o)}
`),process.env.NOPEA_DEBUG&&o instanceof Error&&o.stack&&process.stderr.write(`${o.stack}
`),r==="json"&&process.stdout.write(`${JSON.stringify({error:s(o)})}
`),n(o))}function N(){return Math.round(performance.now())}export{a,C as b,O as c,b as d,N as e};
