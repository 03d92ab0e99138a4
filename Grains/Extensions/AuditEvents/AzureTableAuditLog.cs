using System.Text.Json;
using Azure.Data.Tables;
using Glance.Grains.Storage;

namespace Glance.Grains.Extensions.AuditEvents;

/// <summary>
/// The audit log in an Azure Table (the azure profile): one entity per event, added (never
/// replaced: a second add of the same id fails) in one partition per day, row key the event id,
/// so that a partition reads newest first.
/// </summary>
public sealed class AzureTableAuditLog(TableClient table) : IAuditLog
{
    private readonly Lazy<Task> _created = new(() => table.CreateIfNotExistsAsync());

    public async Task AppendAsync(AuditEvent auditEvent)
    {
        await _created.Value;
        await table.AddEntityAsync(new TableEntity(Partition(auditEvent.Time), auditEvent.Id)
        {
            ["Entry"] = JsonSerializer.Serialize(auditEvent, StorageJson.Options),
        });
    }

    public async Task<ImmutableArray<AuditEvent>> QueryAsync(AuditQuery query)
    {
        await _created.Value;
        var page = ImmutableArray.CreateBuilder<AuditEvent>();
        // Row keys sort newest first across partitions too (the partition is the inverted day).
        var filter = query.Marker is null ? null : TableClient.CreateQueryFilter($"RowKey gt {query.Marker}");
        await foreach (var entity in table.QueryAsync<TableEntity>(filter))
        {
            var e = JsonSerializer.Deserialize<AuditEvent>(entity.GetString("Entry"), StorageJson.Options)!;
            if (query.Matches(e))
            {
                page.Add(e);
                if (page.Count == query.Limit)
                {
                    break;
                }
            }
        }
        return page.ToImmutable();
    }

    private static string Partition(DateTimeOffset time) => $"{9999_99_99 - int.Parse(time.UtcDateTime.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture):D8}";
}
