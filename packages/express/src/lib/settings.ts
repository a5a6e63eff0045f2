/**
 * The adapter's options, checked once at start-up: @gatehouse/web's checks and defaults (every
 * adapter's), and the session store, which only Express has. Every refusal is a `ClientError`
 * `config_invalid` that names the option.
 */
import {
  type Settings as AdapterSettings,
  checkSettings as checkAdapterSettings,
  invalidOption,
} from '@gatehouse/web/kit';
import type { GatehouseOptions } from '../gatehouse.js';
import type { SessionStore } from '../session.js';

export interface Settings extends AdapterSettings {
  store?: SessionStore;
}

export function checkSettings(options: GatehouseOptions): Settings {
  const settings = checkAdapterSettings(options, 'gatehouse()');
  const store = options.session?.store;
  if (
    store !== undefined &&
    (typeof store?.get !== 'function' ||
      typeof store.set !== 'function' ||
      typeof store.destroy !== 'function')
  ) {
    throw invalidOption('gatehouse()', '`session.store` must have get, set and destroy methods');
  }
  return store ? { ...settings, store } : settings;
}
