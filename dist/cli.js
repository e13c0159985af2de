#!/usr/bin/env node
import { createRequire as __nopeaCreateRequire } from 'node:module'; const require = __nopeaCreateRequire(import.meta.url);
import{a as o}from"./cli/chunk-JI5FQR6V.js";import{d as n}from"./cli/chunk-VMA24CHL.js";var e=n(o(),1);e.default.enableCompileCache?.();await import("./cli/run-XMF3PUVU.js");
