import { AuthProvider } from '@gatehouse/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { config } from './config.js';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

// StrictMode runs effects twice in development: the adapter handles the callback once anyway.
createRoot(root).render(
  <StrictMode>
    <AuthProvider
      issuer={config.issuer}
      clientId={config.clientId}
      redirectUri={`${window.location.origin}/callback`}
      postLogoutRedirectUri={`${window.location.origin}/`}
      scope="openid profile email offline_access"
      silentLogin={config.silentLogin}
    >
      <App />
    </AuthProvider>
  </StrictMode>,
);
