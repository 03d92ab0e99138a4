namespace Glance.Grains.Hosting;

/// <summary>
/// The azure profile's storage account, bound from <c>Glance:Azure</c>: cluster membership and
/// catalog entries in Azure Table storage, grain state and image bytes in Azure Blob storage.
/// </summary>
public sealed class AzureOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Glance:Azure";

    /// <summary>Azure Storage connection string (Azurite's, locally); required in the azure profile.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Table of the cluster's members (Orleans' membership table).</summary>
    public string ClusteringTable { get; set; } = "GlanceClusterMembers";

    /// <summary>Table of the catalog entries, one entity per image and shard.</summary>
    public string CatalogTable { get; set; } = "GlanceCatalog";

    /// <summary>Table of the task index, one entity per task and shard.</summary>
    public string TasksTable { get; set; } = "GlanceTasks";

    /// <summary>Table of the Orleans reminders (the cluster repair's).</summary>
    public string RemindersTable { get; set; } = "GlanceReminders";

    /// <summary>Blob container of the grains' state, one blob per grain.</summary>
    public string GrainStateContainer { get; set; } = "glance-grain-state";

    /// <summary>
    /// A file holding the service's own key (at least 32 characters), given to its silos and API
    /// nodes only, never to other Orleans services. When set, a cluster client's call to the
    /// service's internal verbs must carry it (<see cref="ServiceKey"/>); when not, a stock client
    /// holding the cluster certificate can call the internal verbs that API nodes use.
    /// </summary>
    public string? ServiceKeyFile { get; set; }

    /// <summary>The key in <see cref="ServiceKeyFile"/> (trimmed), or null when none is set.</summary>
    public string? ReadServiceKey() => string.IsNullOrWhiteSpace(ServiceKeyFile) ? null : File.ReadAllText(ServiceKeyFile).Trim();

    /// <summary>Why the options cannot be used, or null when they can.</summary>
    public string? Problem() =>
        string.IsNullOrWhiteSpace(ConnectionString)
            ? $"{Section}:ConnectionString is required in the azure profile (Azurite's, locally)."
            : !IsTableName(ClusteringTable) ? $"{Section}:ClusteringTable '{ClusteringTable}' is not a valid table name."
            : !IsTableName(TasksTable) ? $"{Section}:TasksTable '{TasksTable}' is not a valid table name."
            : !IsTableName(RemindersTable) ? $"{Section}:RemindersTable '{RemindersTable}' is not a valid table name."
            : !IsTableName(CatalogTable) ? $"{Section}:CatalogTable '{CatalogTable}' is not a valid table name."
            : !Storage.AzureBlobImageDataStore.IsValidContainerName(GrainStateContainer) ? $"{Section}:GrainStateContainer '{GrainStateContainer}' is not a valid container name."
            : string.IsNullOrWhiteSpace(ServiceKeyFile) ? null
            : !File.Exists(ServiceKeyFile) ? $"{Section}:ServiceKeyFile '{ServiceKeyFile}' does not exist."
            : ReadServiceKey()!.Length < ServiceKey.MinimumLength ? $"{Section}:ServiceKeyFile '{ServiceKeyFile}' holds fewer than {ServiceKey.MinimumLength} characters."
            : null;

    /// <summary>The options in <paramref name="configuration"/>, checked.</summary>
    public static AzureOptions From(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var options = Microsoft.Extensions.Configuration.ConfigurationBinder.Get<AzureOptions>(configuration.GetSection(Section)) ?? new AzureOptions();
        return options.Problem() is { } problem ? throw new InvalidOperationException(problem) : options;
    }

    // Azure's rule: 3-63 letters or digits, starting with a letter.
    private static bool IsTableName(string name) =>
        name.Length is >= 3 and <= 63 && char.IsAsciiLetter(name[0]) && name.All(char.IsAsciiLetterOrDigit);
}
