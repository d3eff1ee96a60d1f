import { mount } from 'svelte'
import App from './App.svelte'
import { createClient } from './lib/assistant'
import './app.css'

const target = document.getElementById('app')
if (!target) throw new Error('missing #app')
mount(App, { target, props: { client: createClient(window.assistant) } })
