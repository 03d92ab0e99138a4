using Azure.Storage.Blobs;
using Glance.Grains.Storage;
using Xunit.Abstractions;

namespace Glance.Storage.Tests;

/// <summary>
/// The memory bound, alone: heap figures are process-wide, so no other test may run meanwhile
/// (a collection with parallelization disabled runs after the others, by itself, on its own Azurite).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AzuriteAloneCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite, alone";
}

/// <summary>An upload of any size holds about block size × concurrency, never the image.</summary>
[Collection(AzuriteAloneCollection.Name)]
public sealed class AzureBlobMemoryTests(AzuriteFixture azurite, ITestOutputHelper output) : IAsyncLifetime
{
    private const int MiB = 1 << 20;
    private readonly BlobContainerClient _container = azurite.Container($"memory-{Guid.NewGuid():N}");
    private AzureBlobImageDataStore Store => field ??= new AzureBlobImageDataStore(_container);

    private static string NewKey() => $"{Guid.NewGuid():N}";

    [Fact]
    public async Task Memory_stays_bounded_by_the_transfer_options_whatever_the_image_size()
    {
        const long size = 256L * MiB;
        var key = NewKey();
        // The bound: blocks in flight plus one being filled, plus slack for the HTTP stack.
        const long bound = (AzureBlobImageDataStore.DefaultConcurrency + 2L) * AzureBlobImageDataStore.DefaultBlockSize + 32L * MiB;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0;
        var source = new GeneratedStream(size, seed: 21, onProgress: _ => peak = Math.Max(peak, GC.GetTotalMemory(false) - baseline));

        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var written = await Store.WriteAsync(key, source, CancellationToken.None);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var after = GC.GetTotalMemory(forceFullCollection: true) - baseline;

        output.WriteLine($"streamed {size / MiB} MiB: heap peak +{peak / MiB} MiB, after +{after / MiB} MiB, allocated {allocated / MiB} MiB (bound {bound / MiB} MiB)");
        Assert.Equal(size, written);
        Assert.True(peak < bound, $"heap grew by {peak / MiB} MiB while streaming {size / MiB} MiB (bound {bound / MiB} MiB)");
        Assert.True(after < bound, $"heap kept {after / MiB} MiB after streaming {size / MiB} MiB");
        // Blocks come from a pool: allocations do not scale with the image either.
        Assert.True(allocated < size / 2, $"{allocated / MiB} MiB allocated to stream {size / MiB} MiB");
        var properties = await _container.GetBlobClient(key).GetPropertiesAsync();
        Assert.Equal(size, properties.Value.ContentLength);
        await using (var read = await Store.OpenReadAsync(key, 0, null, CancellationToken.None))
        {
            await StreamAssert.EqualAsync(new GeneratedStream(size, seed: 21), read);
        }
        await Store.DeleteAsync(key, CancellationToken.None);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _container.DeleteIfExistsAsync();
}
