using Glance.Grains.Hosting;
using Glance.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;

namespace Glance.Grains.Extensions.AuditEvents;

/// <summary>
/// Audit events (behaviour, off by default): one durable, append-only event per mutation of the
/// public contract (<see cref="AuditFilter"/>), in the embedded database or an Azure Table
/// (<c>Glance:Extensions:audit-events:Table</c>, default <c>GlanceAuditEvents</c>), read by
/// admins at <c>GET /v2/events</c>.
/// </summary>
public sealed class AuditEventsExtension : GlanceExtension
{
    public override string Alias => "audit-events";
    public override string Name => "Audit events";
    public override string Description => "One durable, append-only event per mutation from HTTP or direct grain callers (who, what, outcome, request id), readable by admins at /v2/events.";
    public override DateTimeOffset Updated => new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    public override ExtensionKind Kind => ExtensionKind.Behaviour;

    public override void AddSiloParts(ISiloBuilder silo, ExtensionSettings settings)
    {
        if (settings.Host.IsAzure)
        {
            var table = settings.Section["Table"] ?? "GlanceAuditEvents";
            var azure = AzureOptions.From(settings.Configuration);
            silo.Services.AddSingleton<IAuditLog>(_ => new AzureTableAuditLog(AzureCluster.Tables(azure).GetTableClient(table)));
        }
        else
        {
            silo.Services.AddSingleton<IAuditLog>(services => new SqliteAuditLog(services.GetRequiredService<SqliteDatabase>()));
        }
        silo.AddIncomingGrainCallFilter<AuditFilter>();
    }
}
