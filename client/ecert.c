/*
 * ecert.c - the ecert command-line client: global options, dispatch to the subcommands
 * (cmd_*.c), and the single place where an error is reported and the exit status chosen.
 *
 *   ecert [global options] <command> [<subcommand>] [options]
 *
 * Exit status: 0 success, 1 failure (`ecert: <what was wrong>` on stderr), 2 bad usage.
 * The contract, with an example per command, is docs/CLI.md.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_commands.h"

typedef struct {
    const char *command;
    const char *sub; /* NULL for a command without subcommands             */
    cl_command_fn run;
    const char *summary;
} s_command_t;

static const s_command_t s_commands[] = {
    {"account", "new", cmd_account_new, "make a key pair, save it encrypted, register it"},
    {"account", "register", cmd_account_register, "register an existing key's account"},
    {"account", "address", cmd_account_address, "print the address of a key file"},
    {"account", "pubkey", cmd_account_pubkey, "public key, name and roles of an address"},
    {"key", "rotate", cmd_key_rotate, "replace your account's signing key (address kept)"},
    {"key", "revoke", cmd_key_revoke, "revoke your account's signing key"},
    {"key", "recover", cmd_key_recover, "start recovering a lost key (certification authority)"},
    {"key", "veto", cmd_key_veto, "stop a pending recovery of your account"},
    {"key", "recover-finish", cmd_key_recover_finish, "finish a recovery after its waiting period"},
    {"org", "register", cmd_org_register, "register an organization (operator)"},
    {"role", "grant", cmd_role_grant, "grant a role to an address (operator)"},
    {"role", "revoke", cmd_role_revoke, "revoke a role from an address (operator)"},
    {"identity", "attest", cmd_identity_attest, "attest a real-name identity (CA)"},
    {"sidechain", "register", cmd_sidechain_register, "register a side chain (operator)"},
    {"sidechain", "update", cmd_sidechain_update,
     "change a side chain's validators or unfreeze it (operator)"},
    {"validator", "set", cmd_validator_set,
     "add, remove or re-weigh a validator of a chain (operator)"},
    {"gov", "propose", cmd_gov_propose, "propose an operator action for others to approve"},
    {"gov", "approve", cmd_gov_approve, "approve a proposal (operator); the quorum's runs it"},
    {"gov", "list", cmd_gov_list, "open proposals, or all with --all"},
    {"gov", "show", cmd_gov_show, "one proposal: action, approvals, state"},
    {"gov", "operators", cmd_gov_operators, "the operators in force and their quorum"},
    {"gov", "set-operators", cmd_gov_set_operators,
     "replace the operator set and quorum (operator action)"},
    {"genesis", "main", cmd_genesis_main, "write a main-chain genesis file"},
    {"genesis", "side", cmd_genesis_side, "write a side-chain genesis file"},
    {"cert", "issue", cmd_cert_issue, "issue a certificate sealed to its holder"},
    {"cert", "inspect", cmd_cert_inspect, "record an inspection of a certificate"},
    {"cert", "get", cmd_cert_get, "show a certificate (decrypted with the holder's key)"},
    {"cert", "list", cmd_cert_list, "list a holder's certificates"},
    {"cert", "ack", cmd_cert_ack, "acknowledge a certificate (holder)"},
    {"cert", "renew", cmd_cert_renew, "set a new expiry (issuing agency)"},
    {"cert", "change", cmd_cert_change, "replace a certificate's fields (issuing agency)"},
    {"cert", "revoke", cmd_cert_revoke, "revoke a certificate (issuing agency)"},
    {"cert", "erase", cmd_cert_erase, "erase a certificate's contents (holder or issuing agency)"},
    {"cert", "suspend", cmd_cert_suspend, "suspend a certificate (issuing agency)"},
    {"cert", "reinstate", cmd_cert_reinstate, "lift a suspension (issuing agency)"},
    {"cert", "cancel", cmd_cert_cancel, "cancel a certificate (holder or issuing agency)"},
    {"cert", "history", cmd_cert_history, "every transaction applied to a certificate"},
    {"cert", "proof", cmd_cert_proof, "fetch an offline proof bundle for a transaction"},
    {"status-list", "fetch", cmd_status_list_fetch,
     "fetch a side chain's certificate status list, with its proof"},
    {"contract", "deploy", cmd_contract_deploy, "publish a contract on a side chain (deployer)"},
    {"contract", "upgrade", cmd_contract_upgrade, "publish a new version of your contract"},
    {"contract", "call", cmd_contract_call, "call a contract's function in a transaction"},
    {"contract", "query", cmd_contract_query, "run a contract's function read-only"},
    {"contract", "show", cmd_contract_show, "a contract's owner, version, code"},
    {"contract", "events", cmd_contract_events, "the events a contract emitted"},
    {"contract", "open", cmd_contract_open, "open what a contract's result holds sealed to you"},
    {"contract", "decisions", cmd_contract_decisions,
     "a contract's escalations, pending or decided"},
    {"contract", "decide", cmd_contract_decide, "settle an escalation (a holder of its role)"},
    {"asset", "init", cmd_asset_init, "deploy the directory of shared data on the share chain"},
    {"asset", "publish", cmd_asset_publish, "share a dataset: encrypt it to your ODS, list it"},
    {"asset", "update", cmd_asset_update, "publish a new version of an asset"},
    {"asset", "withdraw", cmd_asset_withdraw, "stop serving an asset"},
    {"asset", "transfer", cmd_asset_transfer, "offer an asset to another organization"},
    {"asset", "accept", cmd_asset_accept, "take an asset offered to your organization"},
    {"asset", "set-acl", cmd_asset_set_acl, "name the access contract that rules your asset"},
    {"asset", "show", cmd_asset_show, "an asset's record, versions and owners"},
    {"asset", "search", cmd_asset_search, "search the directory (and whether you may request)"},
    {"asset", "get", cmd_asset_get, "request an asset and fetch it from its owner's ODS"},
    {"asset", "watch", cmd_asset_watch, "follow the directory's changes as they are committed"},
    {"acl", "grant", cmd_acl_grant, "let a requester fetch your asset (owner)"},
    {"acl", "revoke", cmd_acl_revoke, "stop a rule of your asset's access contract (owner)"},
    {"acl", "list", cmd_acl_list, "an asset's access rules"},
    {"access", "log", cmd_access_log, "every request of an asset, granted or refused"},
    {"verify", NULL, cmd_verify, "check a proof bundle offline, with the certificate's status"},
    {"export", "vc", cmd_export_vc, "a certificate as a W3C VC 2.0 for outside verifiers (holder)"},
    {"export", "sd-jwt", cmd_export_sdjwt,
     "a certificate as an SD-JWT VC with chosen fields, bound to a verifier (holder)"},
    {"export", "status-list", cmd_export_status_list,
     "a side chain's status as W3C Bitstring Status List credentials (agency)"},
    {"import-verify", NULL, cmd_import_verify, "check an exported VC or SD-JWT VC with ecert"},
    {"verifier", "request", cmd_verifier_request,
     "a verifier's signed request for certificate fields (QR code)"},
    {"present", NULL, cmd_present, "answer a verifier's request with chosen fields (holder)"},
    {"verify-presentation", NULL, cmd_verify_presentation,
     "check a holder's presentation against your request, offline"},
    {"audit", "cert", cmd_audit_cert, "every transaction on a certificate, each proven"},
    {"audit", "decision", cmd_audit_decision,
     "an escalated contract decision's whole path, each step proven"},
    {"audit", "identity", cmd_audit_identity,
     "an identity's main-chain facts and certificates, each proven"},
    {"evidence", "put", cmd_evidence_put, "deposit files' hashes and time (files stay here)"},
    {"evidence", "proof", cmd_evidence_proof, "build the offline evidence bundle of a file"},
    {"evidence", "verify", cmd_evidence_verify,
     "check a file against its evidence bundle, offline"},
    {"usage", NULL, cmd_usage, "an organization's inspections in a period, for billing"},
    {"chain", "status", cmd_chain_status, "heights, tips and anchoring lag of the chains"},
    {"chain", "evidence", cmd_chain_evidence, "validators caught signing twice (evidence)"},
    {"node", "status", cmd_node_status, "one node's own view: height, round, peers"},
};
#define S_COMMAND_COUNT (sizeof s_commands / sizeof s_commands[0])

static const char s_global_help[] =
    "Global options (before or after the command):\n"
    "  --config FILE           client config (default: $ECERT_CONFIG, else "
    "./.devnet/client.yaml)\n"
    "  --json                  print one JSON object instead of text\n"
    "  --key FILE              encrypted key file to sign (or decrypt) with\n"
    "  --passphrase-file FILE  passphrase for key files (else $ECERT_PASSPHRASE, else a\n"
    "                          prompt on the terminal)\n"
    "  --timeout-ms N          how long to wait for a node (default 10000)\n"
    "  --help                  help for any command or subcommand\n";

/* Prints the list of commands, or with `only` the subcommands of that command. Its example
 * is a subcommand's --help (the first listed), never the page being printed itself. */
static void s_print_overview(const char *only)
{
    const char *example = "cert issue";
    char group_example[64];
    if (only)
        printf("usage: ecert [global options] %s <subcommand> [options]\n\nSubcommands:\n", only);
    else
        printf("usage: ecert [global options] <command> [<subcommand>] [options]\n\n"
               "Government electronic certificates on the ecert main and side chains.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < S_COMMAND_COUNT; i++) {
        const s_command_t *c = &s_commands[i];
        if (only && strcmp(c->command, only) != 0)
            continue;
        char name[40];
        snprintf(name, sizeof name, "%s%s%s", c->command, c->sub ? " " : "", c->sub ? c->sub : "");
        printf("  %-20s %s\n", name, c->summary);
        if (only && example != group_example) {
            snprintf(group_example, sizeof group_example, "%s", name);
            example = group_example;
        }
    }
    printf("\n%s\nExample:\n  ecert %s --help\n", s_global_help, example);
    if (!only)
        printf("\nBenchmarks: ecert-bench --help (docs/PERFORMANCE.md).\n");
}

static bool s_is_command(const char *name)
{
    for (size_t i = 0; i < S_COMMAND_COUNT; i++)
        if (!strcmp(s_commands[i].command, name))
            return true;
    return false;
}

static bool s_is_help(const char *arg)
{
    return !strcmp(arg, "--help") || !strcmp(arg, "-h") || !strcmp(arg, "help");
}

/* Parses the global options, finds the subcommand and runs it. Returns the exit status. */
static int s_run(cl_ctx_t *ctx, int argc, char **argv)
{
    static const struct option opts[] = {CL_COMMON_OPTIONS};
    cl_getopt_begin();
    int opt;
    /* '+': stop at the command name, so its own options are left for it. */
    while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        if (opt == CL_OPT_HELP) {
            s_print_overview(NULL);
            return 0;
        }
        int rc = cl_option(ctx, opt, argc, argv, "");
        if (rc >= 0)
            return rc;
    }
    if (optind >= argc) {
        ctx->command = "";
        return cl_usage(ctx, "no command given");
    }
    return cl_dispatch(ctx, argc - optind, argv + optind);
}

int cl_dispatch(cl_ctx_t *ctx, int argc, char **argv)
{
    assert(argc >= 1);
    const char *command = argv[0];
    if (!s_is_command(command)) {
        ctx->command = "";
        return cl_usage(ctx, "unknown command '%s'", command);
    }
    int at = 1;
    const char *sub = at < argc ? argv[at] : NULL;
    for (size_t i = 0; i < S_COMMAND_COUNT; i++) {
        const s_command_t *c = &s_commands[i];
        if (strcmp(c->command, command) != 0)
            continue;
        if (!c->sub) {
            ctx->command = c->command;
            return c->run(ctx, argc, argv);
        }
        if (sub && !strcmp(c->sub, sub)) {
            static char name[64];
            snprintf(name, sizeof name, "%s %s", command, sub);
            ctx->command = name;
            return c->run(ctx, argc - at, argv + at);
        }
    }
    if (sub && s_is_help(sub)) {
        s_print_overview(command);
        return 0;
    }
    ctx->command = command;
    if (!sub)
        return cl_usage(ctx, "'%s' needs a subcommand", command);
    return cl_usage(ctx, "unknown subcommand '%s %s'", command, sub);
}

int main(int argc, char **argv)
{
    static cl_ctx_t ctx; /* large (paths): static rather than on the stack */
    ctx.timeout_ms = CL_TIMEOUT_MS_DEFAULT;
    if (ec_crypto_init() != 0) {
        fprintf(stderr, "ecert: cannot initialise libsodium\n");
        return 1;
    }
    cl_json_wipe_on_free(); /* before any jansson call */
    int rc = s_run(&ctx, argc, argv);
    if (rc != 0 && ctx.err_code == 0)
        cl_fail(&ctx, EC_EINTERNAL, "failed without saying why (a bug)");
    if (rc != 0)
        cl_report(&ctx);
    cl_disconnect_all(&ctx);
    return rc;
}
