import type { Router } from 'express';
import { createApp, mountedRouters, type AppDeps } from '../../src/http/app';

/**
 * Every route the app serves, as `METHOD /full/path` in express's spelling (`:id`), read from
 * what express registered: the app's own routes and those of each router in mountedRouters().
 * `routersOutside` counts routers mounted some other way, which this cannot see.
 */
export function appRoutes(deps: AppDeps): { routes: string[]; routersOutside: number } {
  const routesOf = (router: Router, prefix: string) =>
    router.stack.flatMap((layer) => {
      const route = layer.route;
      if (!route) return [];
      const full = prefix === '/' ? route.path : route.path === '/' ? prefix : prefix + route.path;
      return [...new Set(route.stack.map((l) => l.method.toUpperCase()))].map((method) => `${method} ${full}`);
    });
  const app = createApp(deps);
  const mounted = mountedRouters(deps).flatMap(([mountPath, ...handlers]) => handlers.filter((h): h is Router => 'stack' in h).map((router) => ({ mountPath, router })));
  const routersOutside = app.router.stack.filter((l) => 'stack' in l.handle).length - mounted.length;
  return { routes: [...routesOf(app.router, '/'), ...mounted.flatMap(({ mountPath, router }) => routesOf(router, mountPath))], routersOutside };
}
