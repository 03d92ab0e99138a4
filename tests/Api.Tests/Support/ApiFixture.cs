namespace Glance.Api.Tests.Support;

/// <summary>
/// The server most tests share (one silo start for the whole collection). Tests isolate
/// themselves by tagging their images with a unique property and filtering lists on it.
/// </summary>
public sealed class ApiFixture : IAsyncLifetime
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<object>>> _shared = new();
    private GlanceServer? _server;

    private GlanceServer Server => _server ?? throw new InvalidOperationException("Server not started");

    /// <summary>The running server.</summary>
    public GlanceFactory Factory => Server.Factory;

    /// <summary>A client of the running server.</summary>
    public GlanceClient Client => Server.Client;

    /// <summary>The data directory the server writes.</summary>
    public string DataDirectory => Server.DataDirectory;

    /// <summary>
    /// Data several tests read but none changes (e.g. a large image set), created once on
    /// first use under <paramref name="key"/>.
    /// </summary>
    public async Task<T> SharedAsync<T>(string key, Func<Task<T>> create) where T : class =>
        (T)await _shared.GetOrAdd(key, _ => new Lazy<Task<object>>(async () => await create())).Value;

    /// <inheritdoc />
    public Task InitializeAsync()
    {
        _server = new GlanceServer();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>Tests sharing <see cref="ApiFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "glance api";
}
