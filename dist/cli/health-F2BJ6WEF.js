import { createRequire as __nopeaCreateRequire } from 'node:module'; const require = __nopeaCreateRequire(import.meta.url);
import{a,q as c,r as h}from"./chunk-HZWBFCCW.js";import{d as l}from"./chunk-4ZZPW4MJ.js";import"./chunk-CWMUUAOV.js";import{c as p,d as u,f as m,g as d}from"./chunk-LWMBF6UT.js";import"./chunk-HH3VUMWJ.js";import{c as o}from"./chunk-N3K7CHLW.js";import"./chunk-3H4ZMWLH.js";import"./chunk-T2OFBGTU.js";import"./chunk-IPO3RBFC.js";import"./chunk-CGBHUFST.js";import"./chunk-NLZDZFD7.js";import"./chunk-32KFQFA2.js";import"./chunk-6Y43OBK2.js";import"./chunk-35ZN6BHG.js";import"./chunk-R4UZLOZO.js";import"./chunk-DPSDZUDQ.js";import"./chunk-DOKKIQLD.js";import"./chunk-UCJHH7EB.js";import"./chunk-WLAFNRYS.js";import"./chunk-3232KLWI.js";import"./chunk-VMA24CHL.js";var g=(e,s)=>e.split(`
`).map(t=>`${s}${t}`).join(`
`);function $(e){let s=`  ${e.state.padEnd(11)} `;if(e.diagnostics){let[t="",...n]=a({...e.diagnostics,id:e.id,state:"failed"}).split(`
`);return[`${s}${t}`,...n.map(i=>g(i," ".repeat(s.length)))].join(`
`)}return`${s}${e.id}${e.message?`: ${e.message}`:""}`}function b(e){return e.services.length===0?`no services on the state branch yet
`:`${e.services.map(t=>{let n=new Map;for(let r of t.objects)n.set(r.state,(n.get(r.state)??0)+1);let i=[...n].map(([r,f])=>`${f} ${r}`).join(", ")||"no objects";return[`${t.service}${t.namespace?` (${t.namespace})`:""}: ${t.healthy?"healthy":"NOT HEALTHY"} (${i})`,...t.objects.map($)].join(`
`)}).join(`

`)}
`}function x(e){return{command:"health [service]",describe:"check the live objects of a service's inventory (or of every service); changes nothing",builder:s=>p(m(s)).positional("service",{type:"string",describe:"the service (default: every service on the state branch)"}),handler:async s=>{try{let t=await h({...d(s),...s.service!==void 0?{service:s.service}:{},...u(s)});process.stdout.write(s.output==="json"?`${JSON.stringify(t,null,2)}
`:b(t)),e(o(c(t)))}catch(t){e(l(t,s.output))}}}}export{x as healthCommand,b as healthText};
