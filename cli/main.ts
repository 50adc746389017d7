#!/usr/bin/env node
console.log('btrfs-lens');
