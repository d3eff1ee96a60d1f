import { mount } from 'svelte'
import Overlay from './Overlay.svelte'
import { createClient } from './lib/assistant'
import './app.css'

const target = document.getElementById('app')
if (!target) throw new Error('missing #app')
mount(Overlay, { target, props: { client: createClient(window.assistant) } })
