/**
 * The collector's users: a name, a role, the sites they may see, and a
 * password hash (`passwords.ts`), in the store's KV under `["user", name]`.
 *
 * - The role is one of `roles.ts`: `viewer`, `operator` or `admin`.
 * - `sites` null means every site; otherwise only those sites.
 *
 * @module
 */

import type { KvHandle } from "../../shared/kv/handle.ts";
import { hashPassword, type PasswordHash, verifyPassword } from "./passwords.ts";
import { retryLocked } from "../store/kv_retry.ts";
import { StoreConflictError } from "../store/types.ts";
import { revokeUserSessions } from "./sessions.ts";
import { type Role, ROLES } from "./roles.ts";

/** A user as stored. */
export interface UserRecord {
  name: string;
  role: Role;
  /** The sites this user may see; null for all sites. */
  sites: string[] | null;
  /** The environments whose sites this user may see; null or absent: every one. */
  environments?: string[] | null;
  password: PasswordHash;
  createdAt: string;
}

/** A user without the password hash, as listings show it. */
export type PublicUser = Omit<UserRecord, "password">;

/** User names: like token and site names. */
export const USER_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** Whether `user` may see `site`. */
export function canSeeSite(user: { sites: string[] | null }, site: string): boolean {
  return user.sites === null || user.sites.includes(site);
}

const userKey = (name: string) => ["user", name];

/** Users in the collector's KV. */
export class Users {
  #kv: KvHandle;
  #dummy: Promise<PasswordHash> | null = null;

  /** Uses `kv` (the store's handle); the caller opens and closes it. */
  constructor(kv: KvHandle) {
    this.#kv = kv;
  }

  /**
   * Adds a user.
   *
   * @throws {RangeError} for a bad name, role, site or an empty password.
   * @throws {StoreConflictError} when the name is taken.
   */
  async add(
    options: {
      name: string;
      role: Role;
      sites: string[] | null;
      environments?: string[] | null;
      password: string;
      now: number;
    },
  ): Promise<PublicUser> {
    if (!USER_NAME.test(options.name)) {
      throw new RangeError(
        `Invalid user name ${
          JSON.stringify(options.name)
        }: expected 1-100 letters, digits, "_", "." or "-"`,
      );
    }
    if (!(ROLES as readonly string[]).includes(options.role)) {
      throw new RangeError(
        `Invalid role ${JSON.stringify(options.role)}: expected one of ${ROLES.join(", ")}`,
      );
    }
    for (const site of options.sites ?? []) {
      if (!USER_NAME.test(site)) {
        throw new RangeError(
          `Invalid site ${JSON.stringify(site)}: expected 1-100 letters, digits, "_", "." or "-"`,
        );
      }
    }
    for (const environment of options.environments ?? []) {
      if (!USER_NAME.test(environment)) {
        throw new RangeError(
          `Invalid environment ${
            JSON.stringify(environment)
          }: expected 1-100 letters, digits, "_", "." or "-"`,
        );
      }
    }
    if (options.sites !== null && options.sites.length === 0) {
      throw new RangeError("Invalid sites: expected at least one site (or none given for all)");
    }
    if (options.password.length === 0) throw new RangeError("The password may not be empty");
    const record: UserRecord = {
      name: options.name,
      role: options.role,
      sites: options.sites,
      ...(options.environments ? { environments: options.environments } : {}),
      password: await hashPassword(options.password),
      createdAt: new Date(options.now).toISOString(),
    };
    const result = await retryLocked(() =>
      this.#kv.atomic().check({ key: userKey(record.name), versionstamp: null })
        .set(userKey(record.name), record).commit()
    );
    if (!result.ok) throw new StoreConflictError(`A user named "${record.name}" already exists`);
    return toPublic(record);
  }

  /** One user, or null. */
  async get(name: string): Promise<UserRecord | null> {
    if (!USER_NAME.test(name)) return null;
    return (await retryLocked(() => this.#kv.get<UserRecord>(userKey(name)))).value;
  }

  /** Every user, by name, without password hashes. */
  async list(): Promise<PublicUser[]> {
    const users: PublicUser[] = [];
    for await (const entry of this.#kv.list<UserRecord>({ prefix: ["user"] })) {
      users.push(toPublic(entry.value));
    }
    return users;
  }

  /** Removes a user and ends their sessions; returns how many, or null when there was no user. */
  async remove(name: string): Promise<number | null> {
    const existing = await this.get(name);
    if (existing === null) return null;
    await retryLocked(() => this.#kv.delete(userKey(name)));
    return await revokeUserSessions(this.#kv, name);
  }

  /**
   * The user when `password` is theirs, else null. An unknown name costs
   * the same hashing time as a wrong password, so timing tells neither.
   */
  async verify(name: string, password: string): Promise<UserRecord | null> {
    const user = await this.get(name);
    if (user === null) {
      this.#dummy ??= hashPassword("not a password");
      await verifyPassword(password, await this.#dummy);
      return null;
    }
    return await verifyPassword(password, user.password) ? user : null;
  }
}

function toPublic(user: UserRecord): PublicUser {
  const { password: _password, ...rest } = user;
  return rest;
}
