using Glance.Grains.Errors;
using Glance.Grains.Storage;

namespace Glance.Storage.Tests;

/// <summary>
/// What every <see cref="IImageDataStore"/> must do, written once and run against each store
/// (<see cref="FileImageDataStoreTests"/>, <see cref="AzureBlobImageDataStoreTests"/>).
/// </summary>
public abstract class ImageDataStoreContract
{
    protected const int MiB = 1 << 20;

    /// <summary>The store under test, empty at the start of each test.</summary>
    protected abstract IImageDataStore Store { get; }

    /// <summary>
    /// Names of everything the store holds that starts with <paramref name="prefix"/>, complete or
    /// not: files including <c>.partial</c> ones, committed blobs.
    /// </summary>
    protected abstract Task<IReadOnlyList<string>> ListAsync(string prefix);

    protected static string NewKey() => $"{Guid.NewGuid():N}-{Guid.NewGuid():N}";

    private static CancellationToken None => CancellationToken.None;

    [Fact]
    public async Task Write_then_read_returns_the_same_bytes()
    {
        var key = NewKey();
        const long size = 20L * MiB + 12345;
        var written = await Store.WriteAsync(key, new GeneratedStream(size, seed: 1), None);

        Assert.Equal(size, written);
        Assert.True(await Store.ExistsAsync(key, None));
        await using var read = await Store.OpenReadAsync(key, 0, null, None);
        await StreamAssert.EqualAsync(new GeneratedStream(size, seed: 1), read);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4096)]
    public async Task Small_and_empty_writes_round_trip(int size)
    {
        var key = NewKey();
        var bytes = GeneratedStream.Bytes(size, seed: 2);

        var written = await Store.WriteAsync(key, new NonSeekableStream(new MemoryStream(bytes)), None);

        Assert.Equal(size, written);
        Assert.True(await Store.ExistsAsync(key, None));
        Assert.Equal(bytes, await StreamAssert.ReadAllAsync(await Store.OpenReadAsync(key, 0, null, None)));
    }

    [Fact]
    public async Task Ranges_read_the_requested_bytes()
    {
        var key = NewKey();
        // Crosses the 8 MiB block boundary of the Azure store.
        const int size = 9 * MiB + 77;
        var bytes = GeneratedStream.Bytes(size, seed: 3);
        await Store.WriteAsync(key, new NonSeekableStream(new MemoryStream(bytes)), None);

        async Task AssertRange(long offset, long? length, int expectedOffset, int expectedCount) =>
            Assert.Equal(
                bytes.AsSpan(expectedOffset, expectedCount).ToArray(),
                await StreamAssert.ReadAllAsync(await Store.OpenReadAsync(key, offset, length, None)));

        await AssertRange(0, 10, 0, 10);
        await AssertRange(8 * MiB - 100, 300, 8 * MiB - 100, 300);
        await AssertRange(1000, null, 1000, size - 1000);
        await AssertRange(size - 10, 100, size - 10, 10);
        await AssertRange(5, 0, 5, 0);
        await AssertRange(size - 1, null, size - 1, 1);
        await AssertRange(size, null, size, 0);
        await AssertRange(size, 5, size, 0);
        await AssertRange(size + 100, null, size, 0);
    }

    [Fact]
    public async Task A_missing_key_is_not_found()
    {
        var key = NewKey();

        Assert.False(await Store.ExistsAsync(key, None));
        await Assert.ThrowsAsync<FileNotFoundException>(() => Store.OpenReadAsync(key, 0, null, None));
        await Assert.ThrowsAsync<FileNotFoundException>(() => Store.OpenReadAsync(key, 10, 5, None));
        await Assert.ThrowsAsync<FileNotFoundException>(() => Store.OpenReadAsync(key, 0, 0, None));

        // Also once the store holds other data.
        await Store.WriteAsync(NewKey(), new MemoryStream([1, 2, 3]), None);
        Assert.False(await Store.ExistsAsync(key, None));
        await Assert.ThrowsAsync<FileNotFoundException>(() => Store.OpenReadAsync(key, 0, null, None));
    }

    // Uploads reach the store through HashingReadStream: hashed on two lanes that share the
    // block writes (pieces at offsets, in any order, for a file), or all on the reading thread.
    [Theory]
    [InlineData(true, 9L * MiB + 12345)]     // several rounds of the 4-block ring, ragged tail
    [InlineData(false, 9L * MiB + 12345)]
    [InlineData(true, 1)]
    [InlineData(false, 0)]
    public async Task A_hashed_upload_is_stored_byte_for_byte_and_measured(bool hashInParallel, long size)
    {
        var key = NewKey();
        using var expectedMd5 = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.MD5);
        using var expectedSha512 = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA512);
        var buffer = new byte[MiB];
        await using (var reference = new GeneratedStream(size, seed: 11))
        {
            int read;
            while ((read = await reference.ReadAsync(buffer)) > 0)
            {
                expectedMd5.AppendData(buffer, 0, read);
                expectedSha512.AppendData(buffer, 0, read);
            }
        }

        using var upload = new HashingReadStream(new GeneratedStream(size, seed: 11), long.MaxValue, hashInParallel: hashInParallel);
        var written = await Store.WriteAsync(key, upload, None);
        var measured = await upload.ResultAsync();

        Assert.Equal(size, written);
        Assert.Equal(size, measured.Size);
        Assert.Equal(Convert.ToHexStringLower(expectedMd5.GetHashAndReset()), measured.Md5);
        Assert.Equal(Convert.ToHexStringLower(expectedSha512.GetHashAndReset()), measured.Sha512);
        await using var stored = await Store.OpenReadAsync(key, 0, null, None);
        await StreamAssert.EqualAsync(new GeneratedStream(size, seed: 11), stored);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_hashed_upload_that_breaks_off_leaves_nothing(bool hashInParallel)
    {
        var key = NewKey();
        var source = new GeneratedStream(12 * MiB, seed: 12, failAfter: 7L * MiB + 5);
        using var upload = new HashingReadStream(source, long.MaxValue, hashInParallel: hashInParallel);

        await Assert.ThrowsAsync<IOException>(() => Store.WriteAsync(key, upload, None));

        await AssertNothingUnderAsync(key);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_hashed_upload_stops_reading_at_its_limit_and_leaves_nothing(bool hashInParallel)
    {
        var key = NewKey();
        var source = new GeneratedStream(20 * MiB, seed: 13);
        using var upload = new HashingReadStream(source, 5L * MiB + 1, hashInParallel: hashInParallel);

        var error = await Assert.ThrowsAsync<GlanceException>(() => Store.WriteAsync(key, upload, None));

        Assert.Equal(ErrorKind.TooLarge, error.Kind);
        Assert.True(source.BytesRead <= 6L * MiB, $"read {source.BytesRead} bytes past a limit of 5 MiB");
        await AssertNothingUnderAsync(key);
    }

    [Theory]
    [InlineData(2 * MiB, MiB / 2)]          // within the first block
    [InlineData(20 * MiB, 12 * MiB + 3)]    // after blocks were sent
    public async Task A_write_whose_source_fails_leaves_nothing(long size, long failAfter)
    {
        var key = NewKey();
        var source = new GeneratedStream(size, seed: 4, failAfter: failAfter);

        var error = await Assert.ThrowsAsync<IOException>(() => Store.WriteAsync(key, source, None));

        Assert.Contains("Simulated client disconnect", error.Message);
        Assert.Equal(failAfter, source.BytesRead);
        await AssertNothingUnderAsync(key);
        // The key is not poisoned: a retry writes it.
        Assert.Equal(size, await Store.WriteAsync(key, new GeneratedStream(size, seed: 5), None));
        await using var read = await Store.OpenReadAsync(key, 0, null, None);
        await StreamAssert.EqualAsync(new GeneratedStream(size, seed: 5), read);
    }

    [Theory]
    [InlineData(2 * MiB, MiB)]
    [InlineData(40 * MiB, 17 * MiB)]
    public async Task A_cancelled_write_leaves_nothing(long size, long cancelAfter)
    {
        var key = NewKey();
        using var cancellation = new CancellationTokenSource();
        var source = new GeneratedStream(size, seed: 6, onProgress: read =>
        {
            if (read >= cancelAfter)
            {
                cancellation.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.WriteAsync(key, source, cancellation.Token));

        Assert.True(source.BytesRead < size, "the write went on to the end despite the cancellation");
        await AssertNothingUnderAsync(key);
    }

    [Fact]
    public async Task A_write_cancelled_before_it_starts_leaves_nothing()
    {
        var key = NewKey();
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Store.WriteAsync(key, new GeneratedStream(MiB, seed: 7), cancellation.Token));

        await AssertNothingUnderAsync(key);
    }

    [Fact]
    public async Task A_key_is_written_once()
    {
        var key = NewKey();
        var first = GeneratedStream.Bytes(3000, seed: 8);
        await Store.WriteAsync(key, new MemoryStream(first), None);

        await Assert.ThrowsAnyAsync<IOException>(() => Store.WriteAsync(key, new GeneratedStream(9 * MiB, seed: 9), None));
        await Assert.ThrowsAnyAsync<IOException>(() => Store.WriteAsync(key, new MemoryStream([1, 2, 3]), None));

        Assert.Equal(first, await StreamAssert.ReadAllAsync(await Store.OpenReadAsync(key, 0, null, None)));
        Assert.Equal([key], await ListAsync(key));
    }

    [Fact]
    public async Task Delete_is_idempotent()
    {
        var key = NewKey();
        await Store.DeleteAsync(key, None);
        await Store.WriteAsync(key, new MemoryStream([1, 2, 3]), None);

        await Store.DeleteAsync(key, None);
        await Store.DeleteAsync(key, None);

        await AssertNothingUnderAsync(key);
    }

    [Fact]
    public async Task Copy_makes_an_independent_blob_under_the_target()
    {
        var (source, target) = (NewKey(), NewKey());
        const long size = 10L * MiB + 1;
        await Store.WriteAsync(source, new GeneratedStream(size, seed: 10), None);

        await Store.CopyAsync(source, target, None);
        await Store.DeleteAsync(source, None);

        Assert.False(await Store.ExistsAsync(source, None));
        Assert.True(await Store.ExistsAsync(target, None));
        await using var read = await Store.OpenReadAsync(target, 0, null, None);
        await StreamAssert.EqualAsync(new GeneratedStream(size, seed: 10), read);
    }

    [Fact]
    public async Task Copy_of_a_missing_source_is_not_found_and_leaves_nothing()
    {
        var target = NewKey();

        await Assert.ThrowsAsync<FileNotFoundException>(() => Store.CopyAsync(NewKey(), target, None));

        await AssertNothingUnderAsync(target);
    }

    [Fact]
    public async Task Copy_onto_an_existing_key_fails_and_keeps_it()
    {
        var (source, target) = (NewKey(), NewKey());
        await Store.WriteAsync(source, new MemoryStream([1, 2, 3]), None);
        await Store.WriteAsync(target, new MemoryStream([4, 5]), None);

        await Assert.ThrowsAnyAsync<IOException>(() => Store.CopyAsync(source, target, None));

        Assert.Equal([4, 5], await StreamAssert.ReadAllAsync(await Store.OpenReadAsync(target, 0, null, None)));
        Assert.Equal([1, 2, 3], await StreamAssert.ReadAllAsync(await Store.OpenReadAsync(source, 0, null, None)));
    }

    [Fact]
    public async Task A_delete_never_changes_the_bytes_an_open_reader_gets()
    {
        // Readers stream large images; a delete (image deleted meanwhile) must not corrupt what an
        // open reader already got: it either reads everything or fails, never different bytes.
        var key = NewKey();
        const long size = 3L * MiB;
        await Store.WriteAsync(key, new GeneratedStream(size, seed: 11), None);
        var read = await Store.OpenReadAsync(key, 0, null, None);
        var head = new byte[1024];
        await read.ReadExactlyAsync(head);

        await Store.DeleteAsync(key, None);

        Assert.Equal(GeneratedStream.Bytes(1024, seed: 11), head);
        try
        {
            await using (read)
            {
                var rest = await StreamAssert.ReadAllAsync(read);
                Assert.Equal(GeneratedStream.Bytes((int)size, seed: 11).AsSpan(1024).ToArray(), rest);
            }
        }
        catch (Exception exception) when (exception is IOException or Azure.RequestFailedException)
        {
            // Failing is fine; returning other bytes is not.
        }
        Assert.False(await Store.ExistsAsync(key, None));
    }

    [Theory]
    [InlineData("")]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData(".hidden")]
    [InlineData("spaces are not keys")]
    public async Task Keys_that_are_not_ids_are_rejected(string key)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.WriteAsync(key, new MemoryStream([1]), None));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.OpenReadAsync(key, 0, null, None));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ExistsAsync(key, None));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.DeleteAsync(key, None));
    }

    private async Task AssertNothingUnderAsync(string key)
    {
        Assert.False(await Store.ExistsAsync(key, None));
        await Assert.ThrowsAsync<FileNotFoundException>(() => Store.OpenReadAsync(key, 0, null, None));
        Assert.Empty(await ListAsync(key));
    }
}
