using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Glance.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Glance.Storage.Tests;

/// <summary>The store contract on the Azure Blob store, against the tests' own Azurite; a container per test.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobImageDataStoreTests(AzuriteFixture azurite) : ImageDataStoreContract, IAsyncLifetime
{
    private readonly BlobContainerClient _container = azurite.Container($"images-{Guid.NewGuid():N}");
    private AzureBlobImageDataStore? _store;

    protected override IImageDataStore Store => _store ??= new AzureBlobImageDataStore(_container);

    protected override async Task<IReadOnlyList<string>> ListAsync(string prefix)
    {
        var names = new List<string>();
        if (!await _container.ExistsAsync())
        {
            return names;
        }
        await foreach (var blob in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }))
        {
            names.Add(blob.Name);
        }
        return names;
    }

    [Fact]
    public async Task Store_azure_uses_the_connection_string_and_container()
    {
        var container = $"configured-{Guid.NewGuid():N}";
        using var services = RegistrationTests.Build(new()
        {
            ["Glance:ImageData:Store"] = "azure",
            ["Glance:ImageData:AzureConnectionString"] = azurite.ConnectionString,
            ["Glance:ImageData:AzureContainer"] = container,
        });

        var store = Assert.IsType<AzureBlobImageDataStore>(services.GetRequiredService<IImageDataStore>());
        Assert.Equal("azure", store.Id);
        Assert.Equal(container, store.Container.Name);
        var key = $"{Guid.NewGuid():N}";
        await store.WriteAsync(key, new MemoryStream([1, 2, 3]), CancellationToken.None);
        Assert.True(await azurite.Container(container).GetBlobClient(key).ExistsAsync());
        await azurite.Container(container).DeleteAsync();
    }

    [Fact]
    public async Task The_container_is_created_on_the_first_write()
    {
        Assert.False(await _container.ExistsAsync());

        await Store.WriteAsync(NewKey(), new MemoryStream([1]), CancellationToken.None);

        Assert.True(await _container.ExistsAsync());
    }

    [Fact]
    public async Task A_failed_upload_sent_blocks_that_never_become_a_blob()
    {
        var key = NewKey();

        await Assert.ThrowsAsync<IOException>(() =>
            Store.WriteAsync(key, new GeneratedStream(30L * MiB, seed: 20, failAfter: 25L * MiB), CancellationToken.None));

        // Blocks were staged before the failure (so the failure path was really exercised), yet
        // they are only uncommitted blocks: no blob, nothing listed; the service discards them.
        var uncommitted = new List<string>();
        await foreach (var blob in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = key, States = BlobStates.Uncommitted }))
        {
            uncommitted.Add(blob.Name);
        }
        Assert.Equal([key], uncommitted);
        Assert.Empty(await ListAsync(key));
        Assert.False(await _container.GetBlobClient(key).ExistsAsync());
    }

    [Theory]
    [InlineData(1000)]               // one Put Blob
    [InlineData(20 * MiB)]           // staged blocks and a Put Block List
    public async Task A_write_that_fails_after_its_commit_removes_its_own_blob(int size)
    {
        // The commit reaches the service but its response is lost (connection reset, or a
        // cancellation racing the response): the caller sees a failure, so the blob must go.
        var options = AzuriteFixture.ClientOptions();
        options.AddPolicy(new LoseCommitResponses(), HttpPipelinePosition.PerCall);
        var store = new AzureBlobImageDataStore(new BlobContainerClient(azurite.ConnectionString, _container.Name, options));
        var key = NewKey();

        var error = await Assert.ThrowsAsync<IOException>(() => store.WriteAsync(key, new GeneratedStream(size, seed: 23), CancellationToken.None));

        Assert.Equal(LoseCommitResponses.Message, error.Message);
        Assert.False(await Store.ExistsAsync(key, CancellationToken.None));
        Assert.Empty(await ListAsync(key));
    }

    [Fact]
    public async Task A_failing_writer_never_removes_a_blob_it_did_not_commit()
    {
        var key = NewKey();
        await Store.WriteAsync(key, new MemoryStream([1, 2, 3]), CancellationToken.None);
        var options = AzuriteFixture.ClientOptions();
        options.AddPolicy(new LoseCommitResponses(), HttpPipelinePosition.PerCall);
        var store = new AzureBlobImageDataStore(new BlobContainerClient(azurite.ConnectionString, _container.Name, options));

        await Assert.ThrowsAnyAsync<IOException>(() => store.WriteAsync(key, new MemoryStream([4, 5]), CancellationToken.None));

        Assert.Equal([1, 2, 3], await StreamAssert.ReadAllAsync(await Store.OpenReadAsync(key, 0, null, CancellationToken.None)));
    }

    [Fact]
    public async Task Works_with_an_emulator_that_checks_api_versions()
    {
        // The SDK's newest service version is newer than Azurite 3.37's; the store pins one it knows.
        var strict = AzuriteFixture.WithApiVersionCheck();
        await strict.InitializeAsync();
        try
        {
            var key = NewKey();
            var store = AzureBlobImageDataStore.FromConnectionString(strict.ConnectionString, "strict");
            await store.WriteAsync(key, new GeneratedStream(9 * MiB, seed: 22), CancellationToken.None);
            await store.CopyAsync(key, key + "-copy", CancellationToken.None);
            await using (var read = await store.OpenReadAsync(key + "-copy", 0, null, CancellationToken.None))
            {
                await StreamAssert.EqualAsync(new GeneratedStream(9 * MiB, seed: 22), read);
            }
            await store.DeleteAsync(key, CancellationToken.None);
            Assert.False(await store.ExistsAsync(key, CancellationToken.None));

            var unpinned = new BlobContainerClient(strict.ConnectionString, "strict", new BlobClientOptions());
            var error = await Assert.ThrowsAsync<Azure.RequestFailedException>(() => unpinned.ExistsAsync());
            Assert.Equal(400, error.Status);
        }
        finally
        {
            await strict.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_service_that_does_not_answer_is_reported_as_unavailable_and_a_caller_that_gives_up_is_not()
    {
        // A listener that accepts connections and never answers: a stalled storage service.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new System.Collections.Concurrent.ConcurrentBag<System.Net.Sockets.Socket>();
        var accepting = Task.Run(async () =>
        {
            while (true)
            {
                accepted.Add(await silent.AcceptSocketAsync());
            }
        });
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        var options = AzuriteFixture.ClientOptions();
        options.Retry.MaxRetries = 1;
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        options.Retry.NetworkTimeout = TimeSpan.FromMilliseconds(300);
        var connection = $"DefaultEndpointsProtocol=http;AccountName={AzuriteFixture.AccountName};AccountKey={AzuriteFixture.AccountKey};BlobEndpoint=http://127.0.0.1:{port}/{AzuriteFixture.AccountName};";
        var store = new AzureBlobImageDataStore(new BlobContainerClient(connection, "stalled", options));
        var key = NewKey();

        await Assert.ThrowsAsync<StorageUnavailableException>(() => store.OpenReadAsync(key, 0, null, CancellationToken.None));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => store.OpenReadAsync(key, 0, 0, CancellationToken.None));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => store.ExistsAsync(key, CancellationToken.None));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => store.DeleteAsync(key, CancellationToken.None));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => store.WriteAsync(key, new MemoryStream([1, 2, 3]), CancellationToken.None));
        await Assert.ThrowsAsync<StorageUnavailableException>(() => store.CopyAsync(key, NewKey(), CancellationToken.None));

        // The caller's own cancellation stays a cancellation: nothing to answer 503 for.
        using var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.OpenReadAsync(key, 0, null, giveUp.Token));
        Assert.IsNotType<StorageUnavailableException>(cancelled.InnerException);
        silent.Stop();
        foreach (var socket in accepted)
        {
            socket.Dispose();
        }
        await Assert.ThrowsAnyAsync<Exception>(() => accepting);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _container.DeleteIfExistsAsync();

    /// <summary>Lets Put Blob and Put Block List through to the service, then fails as if the response were lost.</summary>
    private sealed class LoseCommitResponses : HttpPipelinePolicy
    {
        public const string Message = "Simulated connection loss after the commit was sent.";

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            ProcessNext(message, pipeline);
            ThrowIfCommit(message);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            ThrowIfCommit(message);
        }

        private static void ThrowIfCommit(HttpMessage message)
        {
            var request = message.Request;
            var query = request.Uri.Query;
            var isCommit = request.Method == RequestMethod.Put
                && (query.Contains("comp=blocklist", StringComparison.Ordinal)
                    || (!query.Contains("comp=", StringComparison.Ordinal) && request.Headers.TryGetValue("x-ms-blob-type", out _)));
            if (isCommit)
            {
                throw new IOException(Message);
            }
        }
    }
}
