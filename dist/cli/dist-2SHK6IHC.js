import { createRequire as __nopeaCreateRequire } from 'node:module'; const require = __nopeaCreateRequire(import.meta.url);
import{a}from"./chunk-HOEKVTEZ.js";import"./chunk-OK5MW3QD.js";import"./chunk-3232KLWI.js";import"./chunk-CGBHUFST.js";import"./chunk-EDVLB5J5.js";import"./chunk-UCJHH7EB.js";import"./chunk-WLAFNRYS.js";import"./chunk-VMA24CHL.js";export default a();
