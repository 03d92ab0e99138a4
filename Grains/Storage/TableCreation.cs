using Azure.Data.Tables;

namespace Glance.Grains.Storage;

/// <summary>
/// Creates a table on first use, once: a failed attempt (the storage briefly unreachable) is not
/// kept, so the next use tries again instead of failing until the process restarts.
/// </summary>
public sealed class TableCreation(TableClient table)
{
    private Task? _created;

    /// <summary>Completes once the table exists.</summary>
    public Task EnsureAsync()
    {
        var created = _created;
        if (created is null || created.IsFaulted || created.IsCanceled)
        {
            // Two callers racing here both ask; creating an existing table is harmless.
            _created = created = table.CreateIfNotExistsAsync();
        }
        return created;
    }
}
