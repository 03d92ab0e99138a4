using Glance.Grains.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Glance.Grains.Catalog;
using Glance.Grains.Hosting;
using Glance.Grains.Images;
using Orleans.TestingHost;

namespace Glance.Grains.Tests;

/// <summary>
/// An in-process Orleans cluster configured like a Glance silo: the real grains on a real
/// SQLite file under <see cref="DataDirectory"/>. Starting a second one on the same directory
/// is how tests restart the service.
/// </summary>
public sealed class GlanceTestCluster : IAsyncDisposable
{
    private GlanceTestCluster(InProcessTestCluster cluster, string dataDirectory)
    {
        Cluster = cluster;
        DataDirectory = dataDirectory;
    }

    /// <summary>The underlying Orleans test cluster.</summary>
    public InProcessTestCluster Cluster { get; }

    /// <summary>Where the silos keep their database.</summary>
    public string DataDirectory { get; }

    /// <summary>The SQLite file the silos write.</summary>
    public string DatabasePath => DatabaseIn(DataDirectory);

    /// <summary>The external client tests call grains through.</summary>
    public IClusterClient Client => Cluster.Client;

    /// <summary>The image list.</summary>
    public IImageCatalogGrain Catalog => Client.GetGrain<IImageCatalogGrain>(0);

    /// <summary>One image.</summary>
    public IImageGrain Image(Guid id) => Client.GetGrain<IImageGrain>(id);

    /// <summary>The database file used for a data directory.</summary>
    public static string DatabaseIn(string dataDirectory) => Path.Combine(dataDirectory, "glance.db");

    /// <summary>A connection of the test's own to the database of a data directory (to read or damage it behind the grains' back).</summary>
    public static Microsoft.Data.Sqlite.SqliteConnection OpenDatabase(string dataDirectory)
    {
        var connection = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder
        {
            DataSource = DatabaseIn(dataDirectory),
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    /// <summary>
    /// Starts <paramref name="silos"/> silos sharing the database in <paramref name="dataDirectory"/>,
    /// with extra configuration <paramref name="settings"/> (e.g. <c>Glance:Import:AllowedPorts:0</c>)
    /// and extra silo registrations <paramref name="configure"/> (e.g. a fault-injecting grain call filter).
    /// </summary>
    public static async Task<GlanceTestCluster> StartAsync(string dataDirectory, short silos = 1,
        IReadOnlyDictionary<string, string?>? settings = null, Action<Orleans.Hosting.ISiloBuilder>? configure = null)
    {
        var databasePath = DatabaseIn(dataDirectory);
        var builder = new InProcessTestClusterBuilder(silos);
        if (settings is not null)
        {
            builder.ConfigureSiloHost((_, host) => host.Configuration.AddInMemoryCollection(settings));
        }
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddGlanceSqliteStorage(databasePath);
            silo.Services.AddSingleton<IImageDataStore>(_ => new FileImageDataStore(Path.Combine(dataDirectory, "images")));
            silo.Services.AddOptions<ImageDataOptions>().Bind(silo.Configuration.GetSection(ImageDataOptions.Section));
            silo.AddGlanceGrains(silo.Configuration);
            configure?.Invoke(silo);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new GlanceTestCluster(cluster, dataDirectory);
    }

    /// <summary>Stops every silo (gracefully) and releases the database.</summary>
    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}

/// <summary>The cluster most tests share: two silos on one fresh database.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private GlanceTestCluster? _cluster;

    /// <summary>The running cluster.</summary>
    public GlanceTestCluster Cluster => _cluster ?? throw new InvalidOperationException("Cluster not started");

    /// <inheritdoc />
    public async Task InitializeAsync() => _cluster = await GlanceTestCluster.StartAsync(_directory.Path, silos: 2);

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
        _directory.Dispose();
    }
}

/// <summary>Tests that share <see cref="ClusterFixture"/>. They isolate themselves with fresh project ids.</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "glance cluster";
}
