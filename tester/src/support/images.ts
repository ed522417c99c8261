/** Images the suite runs, built by tools/images/build-images.sh (no registry is needed). */
export const BUSYBOX = 'faas/busybox:latest';
export const PYTHON = 'faas/python:latest';
export const NODE = 'faas/node:latest';
